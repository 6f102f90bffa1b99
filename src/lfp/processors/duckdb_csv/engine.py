"""Running a job's DuckDB queries: its limits and scratch space, progress, and cancel.

`Engine.run` is the one way the CSV processors query: it reports progress while a long
query runs, stops it when the job is cancelled, and turns a bad input into the
`ProcessorError` `errors.explain` finds for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from lfp.processors.base import JobCancelled, JobContext, ProcessorError
from lfp.processors.duckdb_csv.errors import explain
from lfp.processors.duckdb_csv.input import job_input
from lfp.processors.duckdb_csv.source import CsvSource
from lfp.processors.duckdb_csv.sql import sql_string

# How often a running query's progress is read (and a cancel noticed, should the interrupt
# have come before DuckDB started the query).
PROGRESS_INTERVAL = 0.2


@contextmanager
def removed_on_failure(output: Path) -> Iterator[Path]:
    """`output`, deleted should the block raise (a failed query may leave half a file)."""
    try:
        yield output
    except BaseException:
        output.unlink(missing_ok=True)
        raise


class Engine:
    """A DuckDB connection for one job: its limits, its scratch space, progress and cancel.

    Queries spill to the job's scratch folder rather than growing past its memory limit, and
    stop when the job is cancelled. Use it as a context manager.
    """

    def __init__(self, job: JobContext) -> None:
        self._job = job
        self._lock = threading.Lock()
        self._closed = False
        spill = job.scratch_dir / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        self.connection = duckdb.connect()  # in memory: tables live only for this job
        settings = (
            f"SET memory_limit = {sql_string(job.memory_limit)}",
            f"SET threads = {int(job.threads)}",
            f"SET temp_directory = {sql_string(str(spill))}",
            # Rows need no order until an ORDER BY: without it DuckDB streams and spills
            # freely instead of buffering to keep the file's order.
            "SET preserve_insertion_order = false",
            # Progress is tracked only with the progress bar on; it must not print.
            "SET enable_progress_bar = true",
            "SET enable_progress_bar_print = false",
        )
        try:
            for setting in settings:
                self.connection.execute(setting)
            # The job's input as queries on this connection read it (by path, or
            # through the store when it has no local file).
            self.input = job_input(job, self.connection)
        except BaseException:
            self.connection.close()
            raise
        job.on_cancel(self._interrupt)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a cancel arriving later is ignored)."""
        with self._lock:
            self._closed = True
            self.connection.close()

    def run(
        self,
        sql: str,
        source: CsvSource | None = None,
        *,
        progress: tuple[float, float] | None = None,
    ) -> list[tuple[Any, ...]]:
        """The rows of `sql`; errors as a processor reports them.

        If the query reads `source`, a bad input raises ProcessorError naming its line and
        column. A cancel raises JobCancelled. `progress` is the share of the job the query
        covers, as fractions of the input's size, if its progress is to be reported.
        """
        self._job.check_cancelled()
        try:
            with self._polling(progress):
                rows = self.connection.execute(sql).fetchall()
        except duckdb.InterruptException:
            self._job.check_cancelled()
            raise
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            self._job.check_cancelled()
            error = self._explain(source, exc) if source is not None else None
            if error is None:
                raise
            raise error from None
        self._job.check_cancelled()
        if progress is not None:
            self._job.progress(int(self._job.input_size * progress[1]), self._job.input_size)
        return rows

    def _explain(self, source: CsvSource, exc: duckdb.Error) -> ProcessorError | None:
        """The error to report for a query over `source` that failed with `exc`, if any."""
        try:
            found = explain(source, self.connection)
        except duckdb.InterruptException:
            self._job.check_cancelled()
            raise
        except duckdb.Error:
            found = None  # the input defeats the reader even when collecting rejects
        if found is not None:
            return found
        text = str(exc)
        if "CSV" not in text:
            return None  # not about the input: let it surface as the failure it is
        first = text.splitlines()[0].split(": ", 1)[-1]
        hint = ""
        if "state machine" in text:
            hint = " (are the line endings mixed? use LF or CRLF throughout)"
        return ProcessorError(f"the CSV cannot be read: {first}{hint}")

    def _interrupt(self) -> None:
        """Stop the running query (from the thread a cancel arrives on), unless closed."""
        with self._lock:
            if not self._closed:
                self.connection.interrupt()

    @contextmanager
    def _polling(self, progress: tuple[float, float] | None) -> Iterator[None]:
        """A thread that polls progress and cancel while the block's query runs."""
        stop = threading.Event()
        poller = threading.Thread(
            target=self._poll, args=(stop, progress), name="lfp-duckdb-poll", daemon=True
        )
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()

    def _poll(self, stop: threading.Event, progress: tuple[float, float] | None) -> None:
        """Until `stop`: report the query's progress, and interrupt it once cancelled."""
        size, reported = self._job.input_size, -1
        while not stop.wait(PROGRESS_INTERVAL):
            try:
                self._job.check_cancelled()
            except JobCancelled:
                # An interrupt that came before DuckDB started the query is lost: repeat it.
                self._interrupt()
                return
            if progress is None:
                continue
            percent = self.connection.query_progress()
            if percent < 0:
                continue
            start, end = progress
            done = int(size * (start + (end - start) * min(percent, 100.0) / 100))
            if done > reported:
                reported = done
                self._job.progress(done, size)
