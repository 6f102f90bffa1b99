"""The CSV processors (song-plays, csv-aggregate) run directly on generated files.

Outputs are compared with references computed here with Python's csv module; bad inputs
must fail naming the line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError

from lfp.processors import song_plays
from lfp.processors.base import JobCancelled, NoParams, ProcessorError
from lfp.processors.csv_aggregate import CsvAggregateParams, CsvAggregateProcessor
from lfp.processors.duckdb_csv import engine as duckdb_engine
from lfp.processors.song_plays import SongPlaysProcessor
from tests.processor_context import LocalJob, local_job

BOM = "\ufeff"
HEADER = ["Song", "Date", "Number of Plays"]
OUT_HEADER = ["Song", "Date", "Total Number of Plays for Date"]
WORDS = ["love", "night", "blue", "café", "naïve", "東京", "Ünïcödé", "rain", "🎵"]
# Values the CSV writer must quote, or that sort differently by code point than by locale.
ODD_NAMES = [
    "Hello, Goodbye",
    'The "Best" Song',
    'Say ""hi""',
    "Line one\nline two",
    "zebra",
    "Zebra",
    "étoile",
    'a,b\n"c"',
]


def _write(
    path: Path, rows: Sequence[Sequence[str]], *, newline: str, bom: bool, delimiter: str = ","
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(((BOM if bom else "") + buffer.getvalue()).encode("utf-8"))
    return path


def _read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as text:
        return list(csv.reader(text))


def _job(
    tmp_path: Path, data: Path, on_progress: Callable[[LocalJob], None] | None = None
) -> LocalJob:
    return local_job(data, tmp_path / "scratch", on_progress=on_progress)


# -- song-plays: output ---------------------------------------------------------------------


def _plays(rng: random.Random, count: int) -> list[list[str]]:
    songs = ODD_NAMES + [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) for _ in range(30)
    ]
    days = [(date(2023, 12, 30) + timedelta(days=d)).isoformat() for d in range(5)]
    return [
        [rng.choice(songs), rng.choice(days), str(rng.choice([0, 1, 7, 250, 10**12]))]
        for _ in range(count)
    ]


def _plays_reference(rows: list[list[str]]) -> list[list[str]]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for song, day, plays in rows:
        totals[song, day] += int(plays)
    # Python orders str by code point, as DuckDB orders VARCHAR.
    return [OUT_HEADER] + [[s, d, str(t)] for (s, d), t in sorted(totals.items())]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("enum_limit", [song_plays.ENUM_LIMIT, 0], ids=["enum", "text"])
def test_song_plays_sums_plays_per_song_and_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str, bom: bool, enum_limit: int
) -> None:
    monkeypatch.setattr(song_plays, "ENUM_LIMIT", enum_limit)  # songs as an ENUM, or as text
    rows = _plays(random.Random(f"{newline}{bom}"), 3000)
    data = _write(tmp_path / "plays.csv", [HEADER, *rows], newline=newline, bom=bom)
    job = _job(tmp_path, data)

    result = SongPlaysProcessor().run(job, NoParams())

    expected = _plays_reference(rows)
    [output] = job.outputs
    assert (output.name, output.content_type) == ("song-plays.csv", "text/csv")
    assert _read(output.path) == expected
    assert result == {
        "rows_read": len(rows),
        "rows_written": len(expected) - 1,
        "songs": len({r[0] for r in rows}),
    }


def test_song_plays_of_a_header_alone_is_a_header_alone(tmp_path: Path) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("Song,Date,Number of Plays\n")
    job = _job(tmp_path, data)

    result = SongPlaysProcessor().run(job, NoParams())

    assert _read(job.outputs[0].path) == [OUT_HEADER]
    assert result == {"rows_read": 0, "rows_written": 0, "songs": 0}


def test_song_plays_reports_progress_up_to_the_input_size(tmp_path: Path) -> None:
    rows = _plays(random.Random(1), 2000)
    data = _write(tmp_path / "plays.csv", [HEADER, *rows], newline="\n", bom=False)
    job = _job(tmp_path, data)

    SongPlaysProcessor().run(job, NoParams())

    done = [d for d, _, _ in job.reports]
    assert done == sorted(done)
    assert job.reports[-1] == (job.input_size, job.input_size, "bytes")


# -- song-plays: bad input --------------------------------------------------------------------

# Lines 2 and 3 hold one record (a quoted line end), line 4 another: the bad row after
# them is line 5, though it is the third data row.
_BEFORE = ['"Two\nlines, ""quoted""",2024-01-01,3', "plain,2024-01-02,4"]


@pytest.mark.parametrize(
    ("bad", "line", "column", "detail"),
    [
        ("x,2024-01-01,abc", 5, "Number of Plays", '"abc"'),
        ("x,2024-01-01,-4", 5, "Number of Plays", '"-4"'),
        ("x,2024-01-01,4.5", 5, "Number of Plays", '"4.5"'),
        ("x,2024-01-01,1e3", 5, "Number of Plays", '"1e3"'),
        ("x,2024-01-01,", 5, "Number of Plays", "empty"),
        ("x,2024-13-45,4", 5, "Date", '"2024-13-45"'),
        ("x,2024/01/01,4", 5, "Date", '"2024/01/01"'),
        ("x,,4", 5, "Date", "empty"),
        (",2024-01-01,4", 5, "Song", "empty"),
        ("x\udcff,2024-01-01,4", 5, "Song", "UTF-8"),
        ("x,2024-01-01,4,5", 5, "Number of Plays", "4 fields"),
        ("x,2024-01-01", 5, "Number of Plays", "2 field(s)"),
        ('"x,2024-01-01,4', 5, "Song", "quoted value"),
        ('"x"y,2024-01-01,4', 5, "Song", "quoted value"),
    ],
)
@pytest.mark.parametrize(("newline", "bom"), [("\n", False), ("\r\n", True)])
def test_song_plays_names_the_line_and_column_of_a_bad_row(
    tmp_path: Path, bad: str, line: int, column: str, detail: str, newline: str, bom: bool
) -> None:
    lines = [",".join(HEADER), *_BEFORE, bad, "after,2024-01-01,1", ""]
    text = (BOM if bom else "") + "\n".join(lines).replace("\n", newline)
    data = tmp_path / "bad.csv"
    data.write_bytes(text.encode("utf-8", "surrogateescape"))
    job = _job(tmp_path, data)

    with pytest.raises(ProcessorError) as failure:
        SongPlaysProcessor().run(job, NoParams())

    message = str(failure.value)
    assert message.startswith(f"line {line}")
    assert f'"{column}"' in message
    assert detail in message
    assert not job.outputs[0].path.exists()


def test_the_first_bad_row_is_named_whichever_kind_it_is(tmp_path: Path) -> None:
    """A row the reader rejects (too few fields) before a row a check rejects (4.5)."""
    data = tmp_path / "bad.csv"
    rows = ['"a\nb",2024-01-01,1', "short,2024-01-01", "frac,2024-01-01,4.5"]
    data.write_text("\n".join([",".join(HEADER), *rows, ""]), encoding="utf-8")

    with pytest.raises(ProcessorError, match=r'^line 4: 2 field\(s\).*"Number of Plays"'):
        SongPlaysProcessor().run(_job(tmp_path, data), NoParams())


def test_blank_lines_count_in_line_numbers(tmp_path: Path) -> None:
    data = tmp_path / "blank.csv"
    data.write_text("Song,Date,Number of Plays\na,2024-01-01,1\n\n\nb,2024-01-01,0.5\n")

    with pytest.raises(ProcessorError, match=r'^line 5, column "Number of Plays"'):
        SongPlaysProcessor().run(_job(tmp_path, data), NoParams())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Song,Day,Number of Plays", r'found "Song", "Day", "Number of Plays".*"Date" is missing'),
        ("Song,Date", r'"Number of Plays" is missing'),
        ("Song,Number of Plays,Date", r"out of order"),
        ("Song,Date,Number of Plays,Extra", r'"Extra" is not expected'),
        ("", r"empty"),
        ("Song,D\udcffte,Number of Plays", r"UTF-8"),
    ],
)
def test_song_plays_requires_its_header(tmp_path: Path, header: str, expected: str) -> None:
    data = tmp_path / "header.csv"
    data.write_bytes(f"{header}\nx,2024-01-01,1\n".encode("utf-8", "surrogateescape"))

    with pytest.raises(ProcessorError, match=f"^line 1.*{expected}") as failure:
        SongPlaysProcessor().run(_job(tmp_path, data), NoParams())
    if header.startswith("Song,Day"):
        assert "Song,Date,Number of Plays" in str(failure.value)


def test_mixed_line_endings_fail_as_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "mixed.csv"
    data.write_bytes(b"Song,Date,Number of Plays\r\na,2024-01-01,1\nb,2024-01-01,2\r\n")

    with pytest.raises(ProcessorError, match="line endings"):
        SongPlaysProcessor().run(_job(tmp_path, data), NoParams())


def test_an_empty_file_fails(tmp_path: Path) -> None:
    data = tmp_path / "empty.csv"
    data.write_bytes(b"")

    with pytest.raises(ProcessorError, match="the file is empty: line 1"):
        SongPlaysProcessor().run(_job(tmp_path, data), NoParams())


# -- cancellation ---------------------------------------------------------------------------


def test_a_job_cancelled_before_it_runs_writes_nothing(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "plays.csv", [HEADER, ["a", "2024-01-01", "1"]], newline="\n", bom=False
    )
    job = _job(tmp_path, data)
    job.cancel()

    with pytest.raises(JobCancelled):
        SongPlaysProcessor().run(job, NoParams())
    assert not (tmp_path / "scratch" / "outputs" / "song-plays.csv").exists()


def test_a_cancel_interrupts_the_running_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_engine, "PROGRESS_INTERVAL", 0.005)
    block = "".join(f"song {i},2024-01-{i % 28 + 1:02d},{i % 90}\n" for i in range(20_000))
    data = tmp_path / "big.csv"
    with open(data, "w") as target:  # ~40 MB: far longer to aggregate than a poll interval
        target.write("Song,Date,Number of Plays\n")
        for _ in range(80):
            target.write(block)
    # Cancelled from the poller's thread, as the runner's heartbeat would, mid-query.
    job = _job(tmp_path, data, on_progress=lambda j: j.cancel())

    with pytest.raises(JobCancelled) as cancelled:
        SongPlaysProcessor().run(job, NoParams())
    assert isinstance(cancelled.value.__context__, duckdb.InterruptException)
    assert not job.outputs[0].path.exists()


# -- csv-aggregate --------------------------------------------------------------------------

AGG_HEADER = ["region", "product; kind", "qty", "price", "note", "code"]
REGIONS = ["north", "south", "Zürich", "east, upper", "", "北"]
PRODUCTS = ["apple", 'pear "conference"', "fig\nfresh", ""]


def _aggregate_rows(rng: random.Random, count: int) -> list[list[str]]:
    def maybe(value: str) -> str:
        return "" if rng.random() < 0.1 else value

    return [
        [
            rng.choice(REGIONS),
            rng.choice(PRODUCTS),
            maybe(str(rng.randint(-50, 500))),
            maybe(str(rng.randint(0, 400) / 4)),  # quarters: exact in binary, sums too
            maybe(rng.choice(["ok", "late", 'said "no"', "multi\nline", "Ökö", "10", "9"])),
            maybe(str(rng.randint(1, 120))),
        ]
        for _ in range(count)
    ]


def _aggregate_reference(
    rows: list[list[str]], group_by: list[str], aggregates: list[dict[str, str]]
) -> list[list[Any]]:
    """The expected output as typed values (None for empty), sorted as the processor sorts."""
    index = {name: i for i, name in enumerate(AGG_HEADER)}
    groups: dict[tuple[str, ...], list[list[str]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[index[g]] for g in group_by)].append(row)
    if not group_by:
        groups.setdefault((), [])
    columns: list[list[Any]] = []
    for aggregate in aggregates:
        column, function = aggregate["column"], aggregate["function"]
        every = [r[index[column]] for r in rows if r[index[column]] != ""]
        numbers = all(_is_number(v) for v in every)
        out: list[Any] = []
        for key in groups:
            values = [r[index[column]] for r in groups[key] if r[index[column]] != ""]
            if function == "count":
                out.append(len(values))
            elif not values:
                out.append(None)
            elif function == "sum":
                out.append(math.fsum(map(float, values)))
            elif function == "mean":
                out.append(math.fsum(map(float, values)) / len(values))
            elif numbers:
                pick = min if function == "min" else max
                out.append(pick(map(float, values)))
            else:
                out.append(min(values) if function == "min" else max(values))
        if function != "mean" and all(
            isinstance(v, int) or (isinstance(v, float) and v.is_integer())
            for v in out
            if v is not None
        ):
            out = [None if v is None else int(v) for v in out]
        columns.append(out)
    table = [[*(v or None for v in key), *(c[i] for c in columns)] for i, key in enumerate(groups)]
    width = len(group_by)
    return sorted(table, key=lambda r: [(v is not None, v or "") for v in r[:width]])


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _assert_rows_equal(
    actual: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]], means: set[int]
) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            if i in means and a not in (None, "") and b is not None:
                assert math.isclose(float(a), float(b), rel_tol=1e-12), (got, want)
            else:
                assert a == b, (got, want)


ALL_FUNCTIONS = [
    {"column": "qty", "function": "sum"},
    {"column": "price", "function": "sum", "as": "revenue"},
    {"column": "price", "function": "mean"},
    {"column": "qty", "function": "min"},
    {"column": "price", "function": "max"},
    {"column": "note", "function": "min"},
    {"column": "note", "function": "max"},
    {"column": "code", "function": "max"},
    {"column": "note", "function": "count"},
    {"column": "price", "function": "count"},
]


@pytest.mark.parametrize(
    "group_by", [[], ["region"], ["region", "product; kind"], ["product; kind", "region"]]
)
@pytest.mark.parametrize(("delimiter", "newline", "bom"), [(",", "\n", False), (";", "\r\n", True)])
def test_csv_aggregate_matches_a_reference(
    tmp_path: Path, group_by: list[str], delimiter: str, newline: str, bom: bool
) -> None:
    rows = _aggregate_rows(random.Random(f"{group_by}{delimiter}"), 1500)
    data = _write(
        tmp_path / "in.csv", [AGG_HEADER, *rows], newline=newline, bom=bom, delimiter=delimiter
    )
    params = CsvAggregateParams.model_validate(
        {"group_by": group_by, "aggregates": ALL_FUNCTIONS, "delimiter": delimiter}
    )
    job = _job(tmp_path, data)

    result = CsvAggregateProcessor().run(job, params)

    expected = _aggregate_reference(rows, group_by, ALL_FUNCTIONS)
    names = [*group_by, *(a.output_name for a in params.aggregates)]
    means = {len(group_by) + i for i, a in enumerate(ALL_FUNCTIONS) if a["function"] == "mean"}
    [output] = job.outputs
    assert (output.name, output.content_type) == ("aggregate.csv", "text/csv")
    [header, *body] = _read(output.path)
    assert header == names
    _assert_rows_equal(body, [[_as_csv_text(v) for v in r] for r in expected], means)
    assert result == {"rows_read": len(rows), "groups": len(expected), "output": "aggregate.csv"}


def test_csv_aggregate_writes_parquet(tmp_path: Path) -> None:
    rows = _aggregate_rows(random.Random(7), 800)
    data = _write(tmp_path / "in.csv", [AGG_HEADER, *rows], newline="\n", bom=False)
    params = CsvAggregateParams.model_validate(
        {"group_by": ["region"], "aggregates": ALL_FUNCTIONS, "output_format": "parquet"}
    )
    job = _job(tmp_path, data)

    CsvAggregateProcessor().run(job, params)

    [output] = job.outputs
    assert (output.name, output.content_type) == (
        "aggregate.parquet",
        "application/vnd.apache.parquet",
    )
    with duckdb.connect() as connection:
        relation = connection.read_parquet(str(output.path))
        names, body = relation.columns, relation.fetchall()
    assert names == ["region", *(a.output_name for a in params.aggregates)]
    means = {1 + i for i, a in enumerate(ALL_FUNCTIONS) if a["function"] == "mean"}
    _assert_rows_equal(body, _aggregate_reference(rows, ["region"], ALL_FUNCTIONS), means)


def test_csv_aggregate_names_a_column_missing_from_the_header(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "in.csv",
        [AGG_HEADER, _aggregate_rows(random.Random(1), 1)[0]],
        newline="\n",
        bom=False,
    )
    params = CsvAggregateParams.model_validate(
        {"group_by": ["regoin"], "aggregates": [{"column": "qty", "function": "sum"}]}
    )

    with pytest.raises(ProcessorError) as failure:
        CsvAggregateProcessor().run(_job(tmp_path, data), params)

    assert str(failure.value) == (
        'column "regoin" is not in the header (line 1), which has: "region", '
        '"product; kind", "qty", "price", "note", "code"'
    )


@pytest.mark.parametrize("function", ["sum", "mean"])
def test_csv_aggregate_names_the_line_of_a_non_number(tmp_path: Path, function: str) -> None:
    rows = _aggregate_rows(random.Random(3), 50)
    rows[30][3] = "12,5"
    data = _write(tmp_path / "in.csv", [AGG_HEADER, *rows], newline="\n", bom=False)
    params = CsvAggregateParams.model_validate(
        {"group_by": ["region"], "aggregates": [{"column": "price", "function": function}]}
    )

    with pytest.raises(ProcessorError) as failure:
        CsvAggregateProcessor().run(_job(tmp_path, data), params)

    line = _start_lines(data)[31]  # record 0 is the header
    assert line > 32  # values with line ends before it: lines and records differ
    assert str(failure.value) == (
        f'line {line}, column "price": expected a number (the column is summed or averaged), '
        'found "12,5"'
    )


def _start_lines(path: Path) -> list[int]:
    """The line each record of the CSV at `path` starts on."""
    with open(path, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        starts, ended = [], 0
        for _ in reader:
            starts.append(ended + 1)
            ended = reader.line_num
    return starts


def test_csv_aggregate_of_text_min_and_max_accepts_any_value(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("k,v\na,10\na,9\nb,x\nb,10\n")
    params = CsvAggregateParams.model_validate(
        {"group_by": ["k"], "aggregates": [{"column": "v", "function": "min"}]}
    )
    job = _job(tmp_path, data)

    CsvAggregateProcessor().run(job, params)

    # One value of v is not a number: the whole column compares as text.
    assert _read(job.outputs[0].path) == [["k", "min_v"], ["a", "10"], ["b", "10"]]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"aggregates": []}, "at least 1"),
        ({"aggregates": [{"column": "a", "function": "median"}]}, "function"),
        ({"aggregates": [{"column": "", "function": "sum"}]}, "at least 1 character"),
        ({"aggregates": [{"column": "a", "function": "sum"}], "delimiter": ";;"}, "at most 1"),
        ({"aggregates": [{"column": "a", "function": "sum"}], "delimiter": '"'}, "quote"),
        ({"group_by": ["a", "a"], "aggregates": [{"column": "b", "function": "sum"}]}, "twice"),
        (
            {
                "aggregates": [
                    {"column": "a", "function": "sum"},
                    {"column": "b", "function": "sum", "as": "sum_a"},
                ]
            },
            "repeated: sum_a",
        ),
        ({"aggregates": [{"column": "a", "function": "sum", "to": "x"}]}, "Extra inputs"),
    ],
)
def test_csv_aggregate_params_are_checked(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CsvAggregateParams.model_validate(params)


def test_csv_aggregate_params_survive_their_json_form() -> None:
    params = CsvAggregateParams.model_validate(
        {"aggregates": [{"column": "a", "function": "sum", "as": "total"}]}
    )

    again = CsvAggregateParams.model_validate(params.model_dump(mode="json"))

    assert again == params
    assert again.aggregates[0].output_name == "total"
