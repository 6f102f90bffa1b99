"""Helpers shared by the processors that load CSV files into lfp's tables.

What to do with a bad row (`on_bad_row`), the collection of skipped lines that a job's
result lists, and a CSV reader that names the line each record starts on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lfp.db.engine import Database
from lfp.processors.base import JobContext, ProcessorError

OnBadRow = Literal["fail", "skip"]
# A job's result lists at most this many skipped lines (it counts them all).
MAX_SKIPPED_LINES = 1000
_BOM = "\ufeff"


class IngestParams(BaseModel):
    """Params every ingest processor takes."""

    model_config = ConfigDict(extra="forbid")

    on_bad_row: OnBadRow = Field(
        default="fail",
        description=(
            "fail: the job fails at the first bad row, naming its line and column, and "
            "the tables stay unchanged; skip: bad rows are left out and listed in the result."
        ),
    )


class BadRow(Exception):
    """A record that cannot be loaded: which column (if one is to blame) and why."""

    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column

    def describe(self) -> str:
        """The reason, with the column it concerns."""
        return f"column {self.column}: {self.reason}" if self.column else self.reason


@dataclass
class SkippedRows:
    """The rows an ingest left out: all counted, the first `limit` listed with their reason."""

    limit: int = MAX_SKIPPED_LINES
    count: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        """Record that the record starting on `line` was skipped, and why."""
        self.count += 1
        if len(self.lines) < self.limit:
            self.lines.append({"line": line, "reason": reason})

    def as_result(self) -> dict[str, Any]:
        """The part of a job's result that reports the skipped rows."""
        return {"skipped": self.count, "skipped_lines": list(self.lines)}


def require_database(job: JobContext, processor: str) -> Database:
    """lfp's database, which an ingest processor loads into; ProcessorError without one."""
    if job.database is None:
        raise ProcessorError(f"the {processor} processor needs lfp's database")
    return job.database


def handle_bad_row(on_bad_row: OnBadRow, skipped: SkippedRows, line: int, error: BadRow) -> None:
    """Skip the row, or fail the job naming its line and column, as `on_bad_row` says."""
    if on_bad_row == "skip":
        skipped.add(line, error.describe())
        return
    raise ProcessorError(f"line {line}, {error.describe()}")


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: the line it starts on and its fields, or why it is not valid CSV."""

    line: int
    fields: list[str]
    error: str | None = None


class CsvRecords:
    """The records of an RFC 4180 CSV file (UTF-8, optional BOM, CRLF or LF line ends).

    Quoted fields may hold commas, quotes and line breaks; each record names the line it
    starts on. A record that is not valid CSV comes with `error` set, and reading goes on
    with the next line. Blank lines are passed over. Bytes that are not UTF-8 raise
    `ProcessorError` naming the line. `bytes_read` tells how far the reading has got.
    """

    def __init__(self, path: Path, delimiter: str = ",") -> None:
        self.path = path
        self.delimiter = delimiter
        self.bytes_read = 0
        self._lines_read = 0

    def __iter__(self) -> Iterator[Record]:
        with open(self.path, "rb") as source:
            reader = csv.reader(self._lines(source), delimiter=self.delimiter, strict=True)
            while True:
                line = self._lines_read + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Record(line, [], f"not valid CSV: {exc}")
                    continue
                if fields:
                    yield Record(line, fields)

    def _lines(self, source: Any) -> Iterator[str]:
        # Decoding line by line (not through a text wrapper that reads ahead) is what lets a
        # decoding error name its line.
        for raw in source:
            self._lines_read += 1
            self.bytes_read += len(raw)
            try:
                text: str = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ProcessorError(
                    f"line {self._lines_read}: not valid UTF-8 (byte {exc.start + 1} of the line)"
                ) from None
            if self._lines_read == 1:
                text = text.removeprefix(_BOM)
            yield text
