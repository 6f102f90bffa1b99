"""Executors hand queued jobs to something that runs them; the database stays in charge.

`submit` is a doorbell, not a hand-over of state: it may be lost or rung twice, and the
runner's claim makes either harmless.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from lfp.config import Settings
from lfp.jobs.runner import JobRunner

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs jobs somewhere: in this process or on workers behind a broker."""

    # Whether jobs handed over survive this process (a broker keeps them; a pool does not).
    durable: bool

    def submit(self, job_id: uuid.UUID) -> None:
        """Have `job_id` run soon (at least once; running it again is harmless)."""

    def submit_verification(self, file_id: uuid.UUID) -> None:
        """Have the file `file_id` verified soon (at least once; again is harmless)."""

    def shutdown(self) -> None:
        """Stop taking jobs; jobs running here go back to the queue."""


class LocalExecutor:
    """A bounded pool of threads inside the server process."""

    durable = False

    def __init__(
        self,
        runner: JobRunner,
        workers: int,
        verify: Callable[[uuid.UUID], object] | None = None,
    ) -> None:
        self._runner = runner
        # Verifications run in the verifier's own pool, which shares this process's fate.
        self._verify = verify
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lfp-job")
        self._pending: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    def submit(self, job_id: uuid.UUID) -> None:
        """Queue `job_id` on the pool, unless it is already waiting or running here."""
        with self._lock:
            if job_id in self._pending:
                return
            self._pending.add(job_id)
        try:
            self._pool.submit(self._run, job_id)
        except RuntimeError:  # the pool is shut down: the next start picks the job up
            with self._lock:
                self._pending.discard(job_id)

    def submit_verification(self, file_id: uuid.UUID) -> None:
        """Verify the file in this process (a second submit joins the first)."""
        if self._verify is None:
            raise RuntimeError("this executor was built without a verifier")
        self._verify(file_id)

    def _run(self, job_id: uuid.UUID) -> None:
        try:
            self._runner.run(job_id)
        except Exception:
            log.exception("running job %s failed", job_id)
        finally:
            with self._lock:
                self._pending.discard(job_id)

    def shutdown(self) -> None:
        """Interrupt running jobs (they are queued again) and wait for the threads to end."""
        self._runner.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)


def build_executor(
    settings: Settings,
    runner: JobRunner,
    verify: Callable[[uuid.UUID], object] | None = None,
) -> Executor:
    """The executor `settings` ask for; `verify` starts a verification in this process."""
    if settings.resolved_executor == "celery":
        from lfp.jobs.celery import CeleryExecutor  # imports Celery only when it is used

        return CeleryExecutor(settings)
    return LocalExecutor(runner, settings.job_workers, verify)
