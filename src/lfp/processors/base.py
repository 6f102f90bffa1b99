"""What a processor is, and what it may use while it runs: the contract for plugins.

A processor is a class with a `name`, a `description`, a pydantic `Params` model and a
`run(job, params)` method. It reads its input through `job.open_input()` (a seekable file,
streamed from the store when blobs are not local, as on S3) or through `job.input_path` (a
local file, which on such a store costs a copy to worker disk first). It reports progress,
checks for cancellation, writes named outputs into the paths `job.output(...)` hands out,
and returns a JSON-able result. The runner publishes the outputs only when `run` returns,
so a failed or cancelled job never leaves half an output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from lfp.db.engine import Database


class ProcessorError(Exception):
    """The input cannot be processed; the message is shown to the user as the job's error."""


class JobCancelled(Exception):
    """The job was cancelled (or its worker is stopping): stop now, publish nothing."""


class NoParams(BaseModel):
    """Params of a processor that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Output:
    """A named output a processor wrote, as the runner publishes it."""

    name: str
    path: Path
    content_type: str


class JobContext(Protocol):
    """The running job as a processor sees it."""

    @property
    def input_path(self) -> Path:
        """A local file holding the input's bytes (read-only).

        On a store without local files (S3) the input is first copied to scratch space:
        a processor that can read a stream should use `open_input()` instead.
        """

    @property
    def input_local_path(self) -> Path | None:
        """The input's own local file when the store keeps one (no copy made), else None."""

    @property
    def input_size(self) -> int:
        """The input's size in bytes."""

    @property
    def input_sha256(self) -> str | None:
        """The input's sha256 (hex) when lfp already knows it (it verified the file)."""

    @property
    def filename(self) -> str:
        """The name the input file was uploaded under."""

    @property
    def scratch_dir(self) -> Path:
        """A private folder for temporary files; removed when the job ends."""

    @property
    def database(self) -> Database | None:
        """lfp's own database, for processors that load data into its tables (else None)."""

    @property
    def memory_limit(self) -> str:
        """How much memory a processor's engine may use, e.g. "512MB" (a setting)."""

    @property
    def threads(self) -> int:
        """How many threads a processor's engine may use (a setting)."""

    def open_input(self) -> IO[bytes]:
        """The input as a seekable binary file (streamed from the store when not local)."""

    def output(self, name: str, content_type: str) -> Path:
        """Where to write output `name`; it is published only if `run` returns."""

    def progress(self, done: int, total: int | None = None, unit: str = "bytes") -> None:
        """Report that `done` of `total` units are processed (cheap: call it freely)."""

    def check_cancelled(self) -> None:
        """Raise `JobCancelled` when the job has been cancelled."""

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from another thread) as soon as the job is cancelled.

        For engines that block in one long call, e.g. DuckDB's `interrupt`.
        """


class Processor(ABC):
    """Base of every processor; subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams

    @abstractmethod
    def run(self, job: JobContext, params: Any) -> dict[str, Any]:
        """Process the job's input; the JSON-able result. Raise ProcessorError on bad input."""
