"""What the processors that load CSV files into lfp's tables share.

Their base class (`IngestProcessor`: one write transaction, and a result of the same
counts), what to do with a bad row (`on_bad_row`, `parse_rows`) and the collection of
skipped lines that a job's result lists. The records come from `csv_records.CsvRecords`.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from lfp.db.engine import Database
from lfp.processors.base import JobContext, Processor, ProcessorError
from lfp.processors.csv_records import Record

OnBadRow = Literal["fail", "skip"]
# A job's result lists at most this many skipped lines (it counts them all).
MAX_SKIPPED_LINES = 1000
T = TypeVar("T")


class IngestParams(BaseModel):
    """Params every ingest processor takes."""

    model_config = ConfigDict(extra="forbid")

    on_bad_row: OnBadRow = Field(
        default="fail",
        description=(
            "fail: the job fails at the first bad row, naming its line and column, and "
            "the tables stay unchanged; skip: bad rows are left out and listed in the result."
        ),
        examples=["skip"],
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


@dataclass
class LoadCounts:
    """What one load did to the rows of its file, as the job's result reports it."""

    rows: int = 0  # data rows read and kept; the result's rows_read adds the skipped ones
    inserted: int = 0
    updated: int = 0
    # Rows whose key appears again later in the file: the later row won.
    duplicates: int = 0
    skipped: SkippedRows = field(default_factory=SkippedRows)

    def as_result(self, seconds: float) -> dict[str, Any]:
        """The job's result: these counts, the skipped rows and how long the load took."""
        return {
            "rows_read": self.rows + self.skipped.count,
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            **self.skipped.as_result(),
            "seconds": round(seconds, 3),
        }


class IngestProcessor(Processor):
    """Base of the processors that load a CSV into lfp's tables; subclasses write `load`.

    The whole load is one write transaction, so a failed or cancelled job changes nothing.
    """

    def run(self, job: JobContext, params: Any) -> dict[str, Any]:
        """Load the file in one transaction; its counts and how many seconds it took."""
        db = require_database(job, self.name)
        started = time.monotonic()
        with db.write() as session:
            counts = self.load(job, params, session)
        return counts.as_result(time.monotonic() - started)

    @abstractmethod
    def load(self, job: JobContext, params: Any, session: Session) -> LoadCounts:
        """Load the job's input through `session` (the transaction); what it did."""


def require_database(job: JobContext, processor: str) -> Database:
    """lfp's database, which an ingest processor loads into; ProcessorError without one."""
    if job.database is None:
        raise ProcessorError(f"the {processor} processor needs lfp's database")
    return job.database


def parse_rows(
    records: Iterable[Record],
    parse: Callable[[Record], T],
    on_bad_row: OnBadRow,
    skipped: SkippedRows,
) -> Iterator[T]:
    """The data records as `parse` makes rows of them, bad ones handled as `on_bad_row` says.

    A record is bad when it is not valid CSV or `parse` raises BadRow for it: it fails the
    job (ProcessorError naming its line and column) or is recorded in `skipped`.
    """
    for record in records:
        try:
            if record.error is not None:
                raise BadRow(record.error)
            row = parse(record)
        except BadRow as error:
            if on_bad_row == "fail":
                raise ProcessorError(f"line {record.line}, {error.describe()}") from None
            skipped.add(record.line, error.describe())
            continue
        yield row
