"""One file's line on a transfer bar: bytes moved, and what is happening when no bytes move
(hashing, verifying, a server that went away and is being retried)."""

from __future__ import annotations

import threading

from rich.console import RenderableType
from rich.progress import Progress, ProgressColumn, Task, TimeRemainingColumn, TransferSpeedColumn
from rich.text import Text

from lfp.cli.common import err

RETRYING = "server unreachable, retrying ({})…"


class SpeedOrStatus(ProgressColumn):
    """Speed and time left; or, while a task has a `status` field, that status instead
    (a frozen speed and ETA would say nothing true)."""

    def __init__(self) -> None:
        super().__init__()
        self._speed = TransferSpeedColumn()
        self._left = TimeRemainingColumn()

    def render(self, task: Task) -> RenderableType:
        """The status in yellow, or `speed  time-left`."""
        status = task.fields.get("status")
        if status:
            return Text(str(status), style="yellow")
        return Text.assemble(self._speed.render(task), " ", self._left.render(task))


class TransferLine:
    """A task on a `_progress` bar for one file, fed by the client's callbacks.

    Safe to call from several threads (an upload sends chunks from a pool). Where stderr
    is not a terminal the bar is drawn only at the end, so each new status is also
    printed as a line there: logs show the hashing, the retries and the verifying.
    """

    def __init__(self, bar: Progress, name: str, total: int) -> None:
        self._bar = bar
        self._name = name
        self._total = total
        self._task = bar.add_task(name, total=total, status=None)
        self._lock = threading.Lock()
        self._stage: str | None = None  # what the current step shows (e.g. verifying…)
        self._retry: str | None = None  # a retry notice, shown over the stage's status
        self._shown: str | None = None

    def advance(self, count: int) -> None:
        """`count` more bytes done (negative: the transfer started over)."""
        self._bar.advance(self._task, count)

    def stage(self, step: str) -> None:
        """An upload step begins: "hashing", "sending", "verifying" or "deduplicated"."""
        if step == "hashing":  # the bar's bytes and speed are the hashing's meanwhile
            self._bar.update(self._task, description=f"hashing {self._name}")
            if not err.is_terminal:
                err.print(f"hashing {self._name}", soft_wrap=True)
        elif step == "sending":
            self._bar.update(self._task, description=self._name)
            self._bar.reset(self._task)  # bytes and speed count the sending from here
            self._set(stage=None)
        elif step == "verifying":
            self._set(stage="verifying…")
        elif step == "deduplicated":
            self._bar.update(self._task, description=self._name, completed=self._total)
            err.print(f"{self._name}: already stored: no bytes sent")

    def finish(self) -> None:
        """The transfer is over: no status stays on the bar's last line."""
        self._set(stage=None, retry=None)

    def on_retry(self, attempt: int | None) -> None:
        """The client's `on_retry`: show retry number `attempt`, or clear it (None)."""
        self._set(retry=None if attempt is None else RETRYING.format(attempt))

    def _set(self, **parts: str | None) -> None:
        with self._lock:
            if "stage" in parts:
                self._stage = parts["stage"]
            if "retry" in parts:
                self._retry = parts["retry"]
            status = self._retry or self._stage
            if status == self._shown:
                return
            self._shown = status
            self._bar.update(self._task, status=status)
            if status and not err.is_terminal:
                err.print(f"{self._name}: {status}", soft_wrap=True)
