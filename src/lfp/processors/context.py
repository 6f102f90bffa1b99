"""`RunningJob`, the runner's `JobContext` of one run: its input, scratch space, outputs."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from lfp.db.engine import Database
from lfp.processors.base import JobCancelled, Output
from lfp.storage import BlobStore, open_blob

log = logging.getLogger(__name__)

OUTPUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")

# Why a run is asked to stop: the user cancelled it, its executor is shutting down, or
# another run took the job over.
StopReason = Literal["cancelled", "stopping", "lost"]

# The latest progress a run reported, as the heartbeat reads it: (done, total, unit).
ProgressSnapshot = tuple[int, int | None, str]


# Bytes copied per block when a processor asks for a local copy of a stored input.
_COPY_BLOCK = 4 << 20


@dataclass(frozen=True)
class JobInput:
    """Where a run's input is: a local file, or a blob of a store without local files."""

    size: int
    path: Path | None = None
    store: BlobStore | None = None
    key: str = ""

    @classmethod
    def local(cls, path: Path) -> JobInput:
        """The local file at `path`."""
        return cls(size=path.stat().st_size, path=path)

    @classmethod
    def stored(cls, store: BlobStore, key: str, size: int) -> JobInput:
        """Blob `key` of `store`, `size` bytes long, read from the store as it is needed."""
        return cls(size=size, store=store, key=key)

    def open(self) -> IO[bytes]:
        """The input as a seekable binary file (streamed from the store if not local)."""
        if self.path is not None:
            return open(self.path, "rb")
        assert self.store is not None, "a JobInput is a path or a stored blob"
        return open_blob(self.store, self.key, self.size)


@dataclass(eq=False)
class RunningJob:
    """The `JobContext` of one run: input, scratch space, outputs, progress and cancel.

    The runner makes one per run; benchmarks and tests use it to run a processor on a
    file or blob directly.
    """

    input: JobInput
    filename: str
    scratch_dir: Path
    memory_limit: str = "512MB"
    threads: int = 2
    database: Database | None = None
    input_sha256: str | None = None
    outputs: list[Output] = field(default_factory=list)
    stop_reason: StopReason | None = None
    _progress: ProgressSnapshot | None = None
    _callbacks: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _copy: Path | None = None
    # Not `_lock`, which a stop takes: a cancel must get through while a copy is made.
    _copy_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def input_size(self) -> int:
        """The input's size in bytes."""
        return self.input.size

    @property
    def input_local_path(self) -> Path | None:
        """The input's own local file, if it has one (no copy is made)."""
        return self.input.path

    @property
    def input_path(self) -> Path:
        """A local file holding the input: its own, or a copy in scratch made on first use."""
        if self.input.path is not None:
            return self.input.path
        with self._copy_lock:
            if self._copy is None:
                self._copy = self._copy_input()
            return self._copy

    def open_input(self) -> IO[bytes]:
        """The input as a seekable binary file, streamed from the store when not local."""
        return self.input.open()

    def output(self, name: str, content_type: str) -> Path:
        """Where to write output `name` (a plain file name); published if `run` returns."""
        if not OUTPUT_NAME.match(name):
            raise ValueError(f"output name {name!r} must match {OUTPUT_NAME.pattern}")
        if any(o.name == name for o in self.outputs):
            raise ValueError(f"output {name!r} declared twice")
        folder = self.scratch_dir / "outputs"
        folder.mkdir(exist_ok=True)
        path = folder / name
        self.outputs.append(Output(name=name, path=path, content_type=content_type))
        return path

    def progress(self, done: int, total: int | None = None, unit: str = "bytes") -> None:
        """Remember the latest progress; the heartbeat writes it out."""
        self._progress = (done, total, unit)

    def progress_snapshot(self) -> ProgressSnapshot | None:
        """The latest progress reported: (done, total, unit), or None."""
        return self._progress

    def check_cancelled(self) -> None:
        """Raise JobCancelled once the run has been asked to stop."""
        if self.stop_reason is not None:
            raise JobCancelled(self.stop_reason)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the run is asked to stop (at once if it already was)."""
        with self._lock:
            self._callbacks.append(callback)
            stopped = self.stop_reason is not None
        if stopped:
            callback()

    def _copy_input(self) -> Path:
        """Copy the stored input into scratch space (a processor asked for a path)."""
        target = self.scratch_dir / "input"
        with self.open_input() as source, open(target, "wb") as copy:
            while block := source.read(_COPY_BLOCK):
                self.check_cancelled()
                copy.write(block)
        return target

    def stop(self, reason: StopReason) -> None:
        """Ask the processor to stop (from the heartbeat or a shutting down executor)."""
        with self._lock:
            if self.stop_reason is not None:
                return
            self.stop_reason = reason
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a cancel callback failed")
