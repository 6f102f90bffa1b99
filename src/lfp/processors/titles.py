"""The `titles` processor: the Netflix titles CSV into the `titles` table.

Each row is upserted on show_id (within one file the last row for a show_id wins); empty
fields are stored as NULL, `date_added` ("September 25, 2021", leading spaces allowed)
as a date. The whole load is one transaction: a failed or cancelled job changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lfp.catalog.titles.models import SORTABLE, Title
from lfp.db.base import utcnow
from lfp.processors.base import JobContext, ProcessorError
from lfp.processors.csv_records import CsvRecords, Record
from lfp.processors.ingest import BadRow, IngestParams, IngestProcessor, LoadCounts, parse_rows

# The CSV has exactly the catalogue's columns, and every one of them can be sorted on.
COLUMNS = SORTABLE
BATCH = 1000
# Every text column is indexed; PostgreSQL refuses index entries above about 2,700 bytes.
MAX_FIELD_BYTES = 2000
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_DATE = re.compile(r"([A-Za-z]+) (\d{1,2}), (\d{4})")
_YEAR = re.compile(r"\d{4}")


class TitlesParams(IngestParams):
    """What to do with bad rows."""


class TitlesProcessor(IngestProcessor):
    """Loads the Netflix titles CSV into the titles catalogue."""

    name = "titles"
    description = (
        "Netflix titles CSV (show_id,type,title,director,cast,country,date_added,release_year,"
        "rating,duration,listed_in,description) → table titles, upserted on show_id."
    )
    Params = TitlesParams

    def load(self, job: JobContext, params: TitlesParams, session: Session) -> LoadCounts:
        """Load the file; counts of rows read, titles inserted and updated, rows skipped."""
        load = _Load(job, params)
        load.run(session)
        return load.counts


class _Load:
    """One load of one file: reads, checks and upserts in batches, counting as it goes."""

    def __init__(self, job: JobContext, params: TitlesParams) -> None:
        self.job = job
        self.params = params
        self.records = CsvRecords(job.open_input)
        self.counts = LoadCounts()
        self.stamp = utcnow()  # updated_at of every row this load writes

    def run(self, session: Session) -> None:
        """Read, check and upsert every batch through `session`, reporting progress."""
        upsert = _upsert_statement(session)
        for batch in self._batches():
            self.job.check_cancelled()
            self._write(session, upsert, batch)
            self.job.progress(self.records.bytes_read, self.job.input_size, "bytes")
        self.job.progress(self.job.input_size, self.job.input_size, "bytes")

    def _batches(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Batches of good rows by show_id; a later row replaces an earlier one."""
        records = iter(self.records)
        header = _header(next(records, None))
        batch: dict[str, dict[str, Any]] = {}
        skipped = self.counts.skipped
        for row in parse_rows(records, lambda r: _row(r, header), self.params.on_bad_row, skipped):
            self.counts.rows += 1
            if row["show_id"] in batch:
                self.counts.duplicates += 1
                del batch[row["show_id"]]  # re-inserted: keeps the file's order
            batch[row["show_id"]] = row
            if len(batch) >= BATCH:
                yield batch
                batch = {}
        if batch:
            yield batch

    def _write(self, session: Session, upsert: Any, batch: dict[str, dict[str, Any]]) -> None:
        # What the table holds already decides the counts: a title written earlier in this
        # load (stamped with this load's time) is a duplicate row, any other an update.
        found = session.execute(
            select(Title.show_id, Title.updated_at).where(Title.show_id.in_(batch))
        )
        before = {show_id: stamped for show_id, stamped in found}
        for stamped in before.values():
            if stamped == self.stamp:
                self.counts.duplicates += 1
            else:
                self.counts.updated += 1
        self.counts.inserted += len(batch) - len(before)
        rows = [{**row, "updated_at": self.stamp} for row in batch.values()]
        session.execute(upsert, rows)


def _upsert_statement(session: Session) -> Any:
    """INSERT … ON CONFLICT (show_id) DO UPDATE of every column, in this database's dialect."""
    table = Title.__table__
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    changed = {c.name: statement.excluded[c.name] for c in table.columns if c.name != "show_id"}
    return statement.on_conflict_do_update(index_elements=[table.c.show_id], set_=changed)


def _header(record: Record | None) -> list[str]:
    """The header's column names; `ProcessorError` unless they are exactly the titles columns."""
    if record is None:
        raise ProcessorError(f"the file is empty: expected the header {','.join(COLUMNS)}")
    if record.error:
        raise ProcessorError(f"line {record.line}: {record.error}")
    names = record.fields
    missing = [c for c in COLUMNS if c not in names]
    extra = [c for c in names if c not in COLUMNS]
    repeated = sorted({c for c in names if names.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unknown {', '.join(repr(c) for c in extra)}")
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    if problems:
        raise ProcessorError(
            f"line {record.line}: the header must name the columns {','.join(COLUMNS)} "
            f"({'; '.join(problems)})"
        )
    return names


def _row(record: Record, header: list[str]) -> dict[str, Any]:
    """The record as a row of `titles` (column name → value); `BadRow` if it is not one."""
    if record.fields == header:
        raise BadRow("the header row repeated")
    if len(record.fields) != len(header):
        raise BadRow(f"{len(record.fields)} fields, the header has {len(header)}")
    values: dict[str, str | None] = {}
    for name, text in zip(header, record.fields, strict=True):
        if len(text.encode()) > MAX_FIELD_BYTES:
            raise BadRow(f"longer than {MAX_FIELD_BYTES} bytes", name)
        if "\x00" in text:
            raise BadRow("contains a NUL character, which PostgreSQL text cannot hold", name)
        values[name] = text if text != "" else None
    for name in ("show_id", "type"):
        if values[name] is None:
            raise BadRow("must not be empty", name)
    return {
        **values,
        "date_added": _date_added(values["date_added"]),
        "release_year": _release_year(values["release_year"]),
    }


def _date_added(text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    match = _DATE.fullmatch(text.strip())
    month = _MONTHS.get(match.group(1).lower()) if match else None
    if match is None or month is None:
        raise BadRow(f"{text!r} is not a date like 'September 25, 2021'", "date_added")
    try:
        return datetime(int(match.group(3)), month, int(match.group(2))).date()
    except ValueError:
        raise BadRow(f"{text!r} is not a date of the calendar", "date_added") from None


def _release_year(text: str | None) -> int | None:
    if text is None:
        return None
    if not _YEAR.fullmatch(text.strip()):
        raise BadRow(f"{text!r} is not a year (4 digits)", "release_year")
    return int(text)
