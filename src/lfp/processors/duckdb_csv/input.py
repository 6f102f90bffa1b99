"""A job's input where DuckDB and Python can both read it, with no copy to worker disk.

A local input is read by its path (DuckDB's own file reader, the fastest). An input that
is a blob on a store without local files (S3) is handed to DuckDB as a one-file fsspec
filesystem whose file is the job's `open_input()`: DuckDB's reads become streamed, ranged
reads of the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import duckdb
from fsspec.spec import AbstractFileSystem

from lfp.processors.base import JobContext

PROTOCOL = "lfpjob"
_NAME = "input"


@dataclass(frozen=True)
class CsvInput:
    """The input twice over: a location `read_csv` takes, and how Python opens the bytes."""

    location: str
    open: Callable[[], IO[bytes]]


class JobInputFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """An fsspec filesystem holding one file, the job's input, at `lfpjob://input`."""

    protocol = PROTOCOL
    cachable = False  # fsspec would otherwise share one instance between jobs

    def __init__(self, job: JobContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._job = job

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> IO[bytes]:
        if mode != "rb" or self._strip_protocol(path) != _NAME:
            raise FileNotFoundError(path)
        return self._job.open_input()

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """The input's size; any other path is not there."""
        if self._strip_protocol(path) != _NAME:
            raise FileNotFoundError(path)
        return {"name": _NAME, "size": self._job.input_size, "type": "file"}

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The one file (DuckDB lists a path before it reads it)."""
        entry = self.info(path)
        return [entry] if detail else [entry["name"]]


def job_input(job: JobContext, connection: duckdb.DuckDBPyConnection) -> CsvInput:
    """The job's input as `connection` reads it: by path if local, else through the store."""
    local = job.input_local_path
    if local is not None:
        return CsvInput(str(local), job.open_input)
    connection.register_filesystem(JobInputFileSystem(job))
    return CsvInput(f"{PROTOCOL}://{_NAME}", job.open_input)
