"""A `JobContext` for running processors directly in tests: real files, no server.

A job's input is either its local file (as on the local store) or a blob of a store
without local files, read through `open_input()` as on S3; `INPUT_KINDS` names the two,
and the processors' tests run on each.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lfp.processors.context import JobInput, ProgressSnapshot, RunningJob
from lfp.storage import MemoryBlobStore

InputKind = Literal["local file", "stored blob"]
INPUT_KINDS: tuple[InputKind, ...] = ("local file", "stored blob")
# The kind `local_job` makes when not told: the processors' tests set it per run.
default_kind: InputKind = "local file"


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

    @property
    def input_path(self) -> Path:
        """The input's local file; a stored input must be streamed, so asking is an error."""
        if self.input.path is None:
            raise AssertionError(
                "a processor asked for input_path on a stored input: it would copy the "
                "whole blob to worker disk instead of streaming it with open_input()"
            )
        return self.input.path

    def cancel(self) -> None:
        """Cancel the job: later checks raise, and every registered callback runs."""
        self.stop("cancelled")


def job_input(path: Path, kind: InputKind) -> JobInput:
    """The file at `path` as a job's input of `kind`."""
    if kind == "local file":
        return JobInput.local(path)
    # The memory store keeps no local files, so the job reads it as it would read S3.
    store = MemoryBlobStore()
    copy = path.with_name(f"{path.name}.stored")
    shutil.copyfile(path, copy)
    store.put_file("input", copy)  # takes the copy away: the test keeps its file
    return JobInput.stored(store, "input", path.stat().st_size)


def local_job(
    input_path: Path,
    scratch_dir: Path,
    *,
    kind: InputKind | None = None,
    memory_limit: str = "256MB",
    on_progress: Callable[[LocalJob], None] | None = None,
) -> LocalJob:
    """A job over the file at `input_path` (as `kind`, else `default_kind`), its scratch
    space in `scratch_dir`."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    return LocalJob(
        input=job_input(input_path, kind or default_kind),
        filename=input_path.name,
        scratch_dir=scratch_dir,
        memory_limit=memory_limit,
        on_progress=on_progress,
    )
