"""The CSV ingest helpers and the `titles` processor run directly on a SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lfp.catalog.titles.models import Title
from lfp.db.engine import Database
from lfp.db.migrate import upgrade
from lfp.processors.base import JobCancelled, ProcessorError
from lfp.processors.csv_records import CsvRecords, Record
from lfp.processors.ingest import SkippedRows
from lfp.processors.titles import TitlesParams, TitlesProcessor
from tests.processor_context import LocalJob, local_job

HEADER = "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,"
HEADER += "listed_in,description"


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    return path


def _records(path: Path) -> CsvRecords:
    return CsvRecords(lambda: path.open("rb"))


def test_records_name_the_line_they_start_on(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbfa,b\r\n"x\r\ny",2\r\n\r\n"q""uote",3\r\n'
    records = list(_records(_write(tmp_path, data)))
    assert records == [
        Record(1, ["a", "b"]),
        Record(2, ["x\r\ny", "2"]),
        Record(5, ['q"uote', "3"]),
    ]


def test_a_record_that_is_not_csv_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    records = list(_records(_write(tmp_path, b'a,b\n"x"y,1\nc,d\n')))
    assert [(r.line, r.fields, r.error is not None) for r in records] == [
        (1, ["a", "b"], False),
        (2, [], True),
        (3, ["c", "d"], False),
    ]


def test_bytes_that_are_not_utf8_fail_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a,b\nc,d\ne,\xff\n")
    with pytest.raises(ProcessorError, match="line 3: not valid UTF-8"):
        list(_records(path))


def test_skipped_rows_are_all_counted_and_the_first_1000_listed() -> None:
    skipped = SkippedRows()
    for line in range(2, 1502):
        skipped.add(line, "bad")
    result = skipped.as_result()
    assert result["skipped"] == 1500
    assert len(result["skipped_lines"]) == 1000
    assert result["skipped_lines"][-1] == {"line": 1001, "reason": "bad"}


@pytest.fixture
def database(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'lfp.db'}"
    upgrade(url)
    return Database(url)


def _job(tmp_path: Path, database: Database, lines: list[str]) -> LocalJob:
    path = _write(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    job = local_job(path, tmp_path / "scratch")
    job.database = database
    return job


@pytest.mark.parametrize(
    ("date_added", "reason"),
    [
        ("2021-09-25", "not a date like"),
        ("Septembre 25, 2021", "not a date like"),
        ("February 30, 2021", "not a date of the calendar"),
    ],
)
def test_a_bad_date_names_line_and_column(
    tmp_path: Path, database: Database, date_added: str, reason: str
) -> None:
    lines = ["s1,Movie,A,,,,,2020,,,,", f's2,Movie,B,,,,"{date_added}",,,,,']
    job = _job(tmp_path, database, lines)
    with pytest.raises(ProcessorError, match=f"line 3, column date_added: .*{reason}"):
        TitlesProcessor().run(job, TitlesParams())
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 0


def test_dates_with_leading_spaces_and_any_month_case_load(
    tmp_path: Path, database: Database
) -> None:
    job = _job(tmp_path, database, ['s1,Movie,A,,,," september 5, 2021",,,,,'])
    TitlesProcessor().run(job, TitlesParams())
    with database.read() as session:
        title = session.get(Title, "s1")
    assert title is not None and str(title.date_added) == "2021-09-05"
    assert title.director is None and title.release_year is None


def test_a_cancelled_load_leaves_the_table_unchanged(tmp_path: Path, database: Database) -> None:
    lines = [f"s{i},Movie,T{i},,,,,2020,,,," for i in range(2500)]  # three batches
    job = _job(tmp_path, database, lines)
    job.on_progress = lambda running: running.cancel()  # after the first batch is written
    with pytest.raises(JobCancelled):
        TitlesProcessor().run(job, TitlesParams())
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 0
