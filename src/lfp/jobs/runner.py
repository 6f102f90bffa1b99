"""Runs one job, wherever it is executed: the same code in `lfp serve` and in `lfp worker`.

The database decides who runs a job. A run first claims the job (a token and a lease); a
heartbeat renews the lease, writes progress and notices a cancel; outputs are published and
the job finished only while the claim still holds, so a job run twice (a worker that was
thought dead, a message delivered again) still ends exactly once.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.leases import Heartbeat, Lease, LeaseColumns, LeaseState
from lfp.errors import LfpError
from lfp.files.models import FileState, StoredFile
from lfp.jobs.models import Job, JobOutput, JobState
from lfp.metrics import Metrics
from lfp.processors.base import JobCancelled, ProcessorError
from lfp.processors.context import JobInput, ProgressSnapshot, RunningJob, StopReason
from lfp.processors.registry import Registry
from lfp.storage import BlobStore
from lfp.uploads.full_disk import is_disk_full

log = logging.getLogger(__name__)

MAX_ERROR = 4000
# A cancel is the job's way of asking its holder to stop.
JOB_LEASE = LeaseColumns(Job, holder="claim", until="lease_until", stop="cancel_requested")


@dataclass(frozen=True)
class JobClaim:
    """A job this run holds, with what it needs to know of its input."""

    job_id: uuid.UUID
    token: uuid.UUID
    processor: str
    params: dict[str, Any]
    storage_key: str
    size: int
    filename: str
    sha256: str | None


class JobRunner:
    """Claims, runs and finishes jobs; `stop()` makes running jobs give their claims back."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        registry: Registry,
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._metrics = metrics or Metrics()
        self._store = store
        self._registry = registry
        self._settings = settings
        self._lease = Lease(db, JOB_LEASE, settings.job_lease_seconds)
        self._stopping = threading.Event()
        self._active: dict[uuid.UUID, RunningJob] = {}
        self._lock = threading.Lock()

    def running(self) -> frozenset[uuid.UUID]:
        """The jobs running in this process right now (alive, whatever their lease says)."""
        with self._lock:
            return frozenset(self._active)

    def stop(self) -> None:
        """Interrupt every running job; each goes back to `queued` for the next start."""
        self._stopping.set()
        with self._lock:
            active = list(self._active.values())
        for run in active:
            run.stop("stopping")

    def run(self, job_id: uuid.UUID) -> None:
        """Run `job_id` if it is there to be run (else do nothing: safe to call again)."""
        if self._stopping.is_set():
            return
        claim = self._claim(job_id)
        if claim is None:
            return
        try:
            self._execute(claim)
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            self._end(claim, JobState.failed, error=f"internal error: {_describe(exc)}")

    # -- claim ------------------------------------------------------------------------

    def _claim(self, job_id: uuid.UUID) -> JobClaim | None:
        now = utcnow()
        settings = self._settings
        with self._db.write() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.state.finished:
                return None
            if job.state == JobState.running and self._lease.remaining(job, now) is not None:
                return None  # another worker holds it
            file = session.get(StoredFile, job.file_id)
            if file is None or file.state == FileState.verifying:
                return None  # dispatched again once the file is verified
            if file.state == FileState.failed:
                _finish(job, JobState.failed, error=f"the input file failed: {file.error}")
                return None
            if job.cancel_requested:
                _finish(job, JobState.cancelled)
                return None
            if job.attempts >= settings.job_max_attempts:
                _finish(
                    job,
                    JobState.failed,
                    error=f"gave up after {job.attempts} attempts: the worker running the job "
                    "stopped each time before it ended",
                )
                return None
            token = self._lease.take(job, now)
            job.state = JobState.running
            job.attempts += 1
            job.started_at = now
            job.progress = 0.0
            job.progress_done = job.progress_total = None
            job.error = None
            return JobClaim(
                job_id=job.id,
                token=token,
                processor=job.processor,
                params=dict(job.params or {}),
                storage_key=file.storage_key,
                size=file.size,
                filename=file.filename,
                sha256=file.sha256,
            )

    # -- run --------------------------------------------------------------------------

    def _execute(self, claim: JobClaim) -> None:
        scratch = self._settings.work_dir / f"{claim.job_id}-{claim.token.hex[:12]}"
        scratch.mkdir(parents=True, exist_ok=True)
        run = RunningJob(
            input=self._input(claim),
            input_sha256=claim.sha256,
            filename=claim.filename,
            scratch_dir=scratch,
            memory_limit=self._settings.processor_memory_limit,
            threads=self._settings.processor_threads,
            database=self._db,
        )
        with self._lock:
            self._active[claim.job_id] = run
        heartbeat = self._heartbeat(claim, run)
        try:
            if self._stopping.is_set():
                run.stop("stopping")
            result = self._process(claim, run)
            run.check_cancelled()  # a stop that came as the processor returned
            heartbeat.stop()  # its last progress is written with the outcome instead
            self._succeed(claim, run, result)
        except Exception as exc:
            # Its room first: a run that filled the disk leaves the database room to record it.
            shutil.rmtree(scratch, ignore_errors=True)
            self._unfinished(claim, run, exc)
        finally:
            heartbeat.stop()
            with self._lock:
                self._active.pop(claim.job_id, None)
            shutil.rmtree(scratch, ignore_errors=True)

    def _unfinished(self, claim: JobClaim, run: RunningJob, exc: Exception) -> None:
        """Record why the run ended without a result: stopped, or failed with what error."""
        if run.stop_reason is not None or isinstance(exc, JobCancelled):
            # Whatever the processor raised once asked to stop (an engine interrupted
            # mid-call raises its own error type), the stop is the reason.
            self._stopped(claim, run.stop_reason or "cancelled")
        elif isinstance(exc, ProcessorError):
            self._end(claim, JobState.failed, error=str(exc)[:MAX_ERROR])
        elif is_disk_full(exc):
            log.error("job %s ran out of disk space: %s", claim.job_id, exc)
            error = (
                f"the server ran out of disk space while {claim.processor} ran ({exc}); "
                "run the job again once there is room"
            )
            self._end(claim, JobState.failed, error=error[:MAX_ERROR])
        else:
            log.exception("processor %s failed on job %s", claim.processor, claim.job_id)
            error = f"processor {claim.processor} failed: {_describe(exc)}"
            self._end(claim, JobState.failed, error=error)

    def _input(self, claim: JobClaim) -> JobInput:
        """The claimed job's input: its local file, or else its blob, read from the store.

        A worker that does not share the data dir's disk finds no local file and reads
        through the store like a worker on S3 does.
        """
        local = self._store.local_path(claim.storage_key)
        if local is not None and local.exists():
            return JobInput(size=claim.size, path=local)
        return JobInput.stored(self._store, claim.storage_key, claim.size)

    def _process(self, claim: JobClaim, run: RunningJob) -> dict[str, Any]:
        try:
            processor = self._registry.get(claim.processor)
            params = self._registry.parse(claim.processor, claim.params)
        except LfpError as exc:
            raise ProcessorError(exc.detail) from None
        with self._metrics.timed(self._metrics.job_seconds.labels(claim.processor)):
            result = processor.run(run, params)
        try:
            return dict(json.loads(json.dumps(result)))
        except (TypeError, ValueError) as exc:
            raise ProcessorError(f"the result is not JSON: {exc}") from None

    # -- finish -----------------------------------------------------------------------

    def _succeed(self, claim: JobClaim, run: RunningJob, result: dict[str, Any]) -> None:
        published: list[JobOutput] = []
        try:
            for output in run.outputs:
                if not output.path.is_file():
                    raise ProcessorError(f"output {output.name} was declared but not written")
                key = f"jobs/{claim.job_id}/{claim.token.hex}/{output.name}"
                size = output.path.stat().st_size
                self._store.put_file(key, output.path)
                published.append(
                    JobOutput(
                        name=output.name,
                        storage_key=key,
                        size=size,
                        content_type=output.content_type,
                    )
                )
        except ProcessorError as exc:
            self._discard(published)
            self._end(claim, JobState.failed, error=str(exc))
            return
        except BaseException:
            self._discard(published)
            raise
        if not self._end(claim, JobState.succeeded, result=result, outputs=published, progress=run):
            self._discard(published)  # another run owns the job now: its outputs count

    def _stopped(self, claim: JobClaim, reason: StopReason) -> None:
        if reason == "cancelled":
            self._end(claim, JobState.cancelled)
        elif reason == "stopping":
            self._release(claim)
        # "lost": another run holds the job; leave it alone.

    def _release(self, claim: JobClaim) -> None:
        """Give the job back as `queued`, this start not counted, for the next start."""

        def requeue(_session: Session, job: Job) -> None:
            self._lease.clear(job)
            job.state = JobState.queued
            job.enqueued_at = None
            job.attempts -= 1

        self._lease.release(claim.job_id, claim.token, then=requeue)

    def _heartbeat(self, claim: JobClaim, run: RunningJob) -> Heartbeat:
        """A heartbeat that renews the claim, writes progress and hears a cancel."""
        seconds = self._settings.job_lease_seconds

        def stop(state: LeaseState) -> None:
            run.stop("lost" if state is LeaseState.lost else "cancelled")

        return Heartbeat(
            self._lease,
            claim.job_id,
            claim.token,
            # Often enough for a lively progress bar and a prompt cancel.
            interval=min(0.5, seconds / 4),
            on_stop=stop,
            on_renew=lambda job: _write_progress(job, run.progress_snapshot()),
        ).start()

    def _end(
        self,
        claim: JobClaim,
        state: JobState,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        outputs: list[JobOutput] | None = None,
        progress: RunningJob | None = None,
    ) -> bool:
        """Record the outcome if this run still holds the job; whether it did."""
        with self._db.write() as session:
            job = session.get(Job, claim.job_id, with_for_update=True)
            if (
                job is None
                or not self._lease.holds(job, claim.token)
                or job.state != JobState.running
            ):
                return False
            if progress is not None:
                _write_progress(job, progress.progress_snapshot())
            _finish(job, state, error=error, result=result)
            for output in outputs or []:
                job.outputs.append(output)
        return True

    def _discard(self, outputs: list[JobOutput]) -> None:
        for output in outputs:
            self._store.delete(output.storage_key)


def _finish(
    job: Job,
    state: JobState,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    job.state = state
    job.error = error
    job.result = result
    job.finished_at = utcnow()
    job.claim = None
    job.lease_until = None
    if state == JobState.succeeded:
        job.progress = 1.0


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


def _write_progress(job: Job, progress: ProgressSnapshot | None) -> None:
    if progress is None:
        return
    done, total, unit = progress
    job.progress_done, job.progress_total, job.progress_unit = done, total, unit
    if total:
        job.progress = max(0.0, min(1.0, done / total))
