"""`RunningJob`, the runner's `JobContext` of one run: a local input, scratch space, outputs."""

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

log = logging.getLogger(__name__)

OUTPUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")

# Why a run is asked to stop: the user cancelled it, its executor is shutting down, or
# another run took the job over.
StopReason = Literal["cancelled", "stopping", "lost"]

# The latest progress a run reported, as the heartbeat reads it: (done, total, unit).
ProgressSnapshot = tuple[int, int | None, str]


@dataclass(eq=False)
class RunningJob:
    """The `JobContext` of one run: input, scratch space, outputs, progress and cancel.

    The runner makes one per run; benchmarks and tests use it to run a processor on a
    local file directly.
    """

    input_path: Path
    input_size: int
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

    def open_input(self) -> IO[bytes]:
        """The input, opened for reading in binary."""
        return open(self.input_path, "rb")

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
