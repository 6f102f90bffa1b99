"""The `song-plays` processor: how often each song was played on each date.

Input: a CSV `Song,Date,Number of Plays` (RFC 4180, UTF-8, LF or CRLF, optional BOM).
Output `song-plays.csv`: `Song,Date,Total Number of Plays for Date`, one row per song and
date, sorted by song (by code point) then date. DuckDB reads the input twice: its songs
alone, then everything, to sum; it spills to scratch space, so memory stays bounded
whatever the file's size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lfp.processors.base import JobContext, NoParams, Processor, ProcessorError
from lfp.processors.duckdb_csv.engine import Engine, removed_on_failure
from lfp.processors.duckdb_csv.header import CsvHeader, read_header
from lfp.processors.duckdb_csv.source import Check, CsvSource, Typed
from lfp.processors.duckdb_csv.sql import CSV_CONTENT_TYPE, CSV_COPY_OPTIONS, sql_name, sql_string

HEADER = ("Song", "Date", "Number of Plays")
OUTPUT_HEADER = ("Song", "Date", "Total Number of Plays for Date")
OUTPUT = "song-plays.csv"
# Up to this many distinct songs are turned into an ENUM (its dictionary is held in memory
# outside DuckDB's memory limit: some tens of MB at most); more are grouped as text.
ENUM_LIMIT = 500_000
_SONGS_SHARE = 0.2  # of the progress bar, for the first pass

_DATE = "a date written YYYY-MM-DD"
_CHECKS = (
    Check("Song", lambda v: f"{v} IS NOT NULL", "a song name"),
    # The reader refuses what is not a date (it tolerates "2024-1-5" and spaces around);
    # a date it accepts may still be empty or one of its special values ("infinity").
    Check("Date", lambda v: f"isfinite({v})", _DATE),
    # DuckDB reads integers loosely ("4.5" rounds to 5, "1e3" is 1000, " 7" is 7): plays
    # are read as text and must be digits only. 18 digits keep every value inside BIGINT.
    Check(
        "Number of Plays",
        lambda v: f"regexp_full_match({v}, '[0-9]{{1,18}}')",
        "a whole number of plays (digits only)",
    ),
)


class SongPlaysProcessor(Processor):
    """Sums the plays of each song per date."""

    name = "song-plays"
    description = (
        "CSV Song,Date,Number of Plays → CSV Song,Date,Total Number of Plays for Date: "
        "one row per song and date, sorted by song then date."
    )
    Params = NoParams

    def run(self, job: JobContext, params: NoParams) -> dict[str, Any]:
        """Write `song-plays.csv`; the counts of rows read and written and of songs."""
        header = read_header(job.open_input, ",")
        _require(header)
        output = job.output(OUTPUT, CSV_CONTENT_TYPE)
        with removed_on_failure(output), Engine(job) as engine:
            rows_read, songs, song_type = _songs(engine, CsvSource(engine.input, header))
            source = CsvSource(
                input=engine.input,
                header=header,
                types={"Song": Typed(song_type, "a song name"), "Date": Typed("DATE", _DATE)},
                checks=_CHECKS,
                date_format="%Y-%m-%d",
            )
            written = _write_totals(engine, source, output)
        return {"rows_read": rows_read, "rows_written": written, "songs": songs}


def _songs(engine: Engine, source: CsvSource) -> tuple[int, int, str]:
    """Rows and distinct songs in `source`, and the SQL type to read its songs as.

    A cheap pass (one column parsed, few distinct values) that pays for itself: up to
    `ENUM_LIMIT` songs become the ENUM `song_name`, sorted by name, so that grouping and
    sorting compare small integers instead of strings while still ordering by name. On
    1 GiB with 18M distinct song and date pairs, this pass and the next take 12 s where
    grouping the text takes 19 s.
    """
    song = source.column("Song")
    engine.run(
        f"CREATE TEMP TABLE songs AS SELECT {song} AS song, count(*) AS rows "
        f"FROM {source.scan()} GROUP BY {song}",
        source,
        progress=(0.0, _SONGS_SHARE),
    )
    ((rows, songs),) = engine.run("SELECT coalesce(sum(rows), 0), count(song) FROM songs")
    song_type = "VARCHAR"
    if songs <= ENUM_LIMIT:
        engine.run(
            "CREATE TYPE song_name AS ENUM "
            "(SELECT song FROM songs WHERE song IS NOT NULL ORDER BY song)"
        )
        song_type = "song_name"
    engine.run("DROP TABLE songs")
    return int(rows), int(songs), song_type


def _write_totals(engine: Engine, source: CsvSource, output: Path) -> int:
    """Sum the plays per song and date into the CSV `output`; how many rows it has."""
    names = [sql_name(n) for n in OUTPUT_HEADER]
    song, date, plays = (source.column(name) for name in HEADER)
    ((written,),) = engine.run(
        f"COPY (SELECT {song} AS {names[0]}, {date} AS {names[1]}, "
        f"sum(CAST({plays} AS BIGINT)) AS {names[2]} "
        f"FROM {source.rows()} GROUP BY {song}, {date} ORDER BY {song}, {date}) "
        f"TO {sql_string(str(output))} ({CSV_COPY_OPTIONS}, DATEFORMAT '%Y-%m-%d')",
        source,
        progress=(_SONGS_SHARE, 1.0),
    )
    return int(written)


def _require(header: CsvHeader) -> None:
    """ProcessorError unless the header is exactly `HEADER`, saying what differs."""
    if header.names == HEADER:
        return
    problems = [f'column "{n}" is missing' for n in HEADER if n not in header.names]
    problems += [f'column "{n}" is not expected' for n in header.names if n not in HEADER]
    if not problems:
        problems = ["the columns are out of order or repeated"]
    raise ProcessorError(
        f"line 1: the header must be {','.join(HEADER)}; found {header.describe()} "
        f"({'; '.join(problems)})"
    )
