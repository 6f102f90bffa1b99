"""A `JobContext` for running processors directly in tests: real files, no server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lfp.processors.context import ProgressSnapshot, RunningJob


@dataclass(eq=False)
class LocalJob(RunningJob):
    """The runner's own context, keeping every progress report in `reports`.

    `on_progress` runs on each report (a test may cancel from it); `cancel()` cancels as
    the runner's heartbeat would, from any thread.
    """

    reports: list[ProgressSnapshot] = field(default_factory=list)
    on_progress: Callable[[LocalJob], None] | None = None

    def progress(self, done: int, total: int | None = None, unit: str = "bytes") -> None:
        """Record the report, then let the test react to it."""
        super().progress(done, total, unit)
        self.reports.append((done, total, unit))
        if self.on_progress is not None:
            self.on_progress(self)

    def cancel(self) -> None:
        """Cancel the job: later checks raise, and every registered callback runs."""
        self.stop("cancelled")


def local_job(
    input_path: Path,
    scratch_dir: Path,
    *,
    memory_limit: str = "256MB",
    on_progress: Callable[[LocalJob], None] | None = None,
) -> LocalJob:
    """A job over the file at `input_path`, its scratch space in `scratch_dir`."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    return LocalJob(
        input_path=input_path,
        input_size=input_path.stat().st_size,
        filename=input_path.name,
        scratch_dir=scratch_dir,
        memory_limit=memory_limit,
        on_progress=on_progress,
    )
