"""Jobs on behalf of their owners: submit, look up, list, cancel, outputs; and recovery."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.id_prefix import id_starts_with
from lfp.db.ownership import get_owned
from lfp.db.paging import page_of
from lfp.errors import Conflict, NotFound
from lfp.files.models import FileState, StoredFile
from lfp.jobs.executor import Executor
from lfp.jobs.models import Job, JobOutput, JobState
from lfp.processors.registry import Registry
from lfp.storage import BlobStore

log = logging.getLogger(__name__)


class JobService:
    """Creates jobs, hands them to the executor once their file is ready, and reports them."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        registry: Registry,
        executor: Executor,
        settings: Settings,
    ) -> None:
        self._db = db
        self._store = store
        self._registry = registry
        self._executor = executor
        self._settings = settings

    # -- create -----------------------------------------------------------------------

    def validate(self, processor: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` checked for `processor` (Unprocessable when either is wrong)."""
        return self._registry.validate(processor, params)

    def submit(
        self,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        processor: str,
        params: dict[str, Any] | None,
    ) -> Job:
        """Queue `processor` on the owner's file; it starts as soon as the file is ready."""
        checked = self.validate(processor, params)
        with self._db.write() as session:
            file = get_owned(session, StoredFile, file_id, owner_id, what="file")
            if file.state == FileState.failed:
                raise Conflict(f"file {file_id} failed and cannot be processed: {file.error}")
            job = self.add(session, file, processor, checked)
            ready = file.state == FileState.ready
        if ready:
            self.dispatch(job.id)
        return self.get(owner_id, job.id)

    def add(
        self,
        session: Session,
        file: StoredFile,
        processor: str,
        params: dict[str, Any],
        upload_started_at: datetime | None = None,
    ) -> Job:
        """Add a queued job on `file` inside the caller's transaction (params already checked)."""
        upload_seconds = None
        if upload_started_at is not None:
            upload_seconds = (file.created_at - upload_started_at).total_seconds()
        job = Job(
            owner_id=file.owner_id,
            file_id=file.id,
            processor=processor,
            params=params,
            state=JobState.queued,
            upload_seconds=upload_seconds,
            created_at=utcnow(),
        )
        session.add(job)
        session.flush()
        return job

    def dispatch(self, job_id: uuid.UUID) -> None:
        """Hand `job_id` to the executor; on failure recovery tries again later."""
        with self._db.write() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.state != JobState.queued:
                return
            job.enqueued_at = utcnow()
            job.dispatches += 1
        try:
            self._executor.submit(job_id)
        except Exception:
            log.exception("could not hand job %s to the executor; will retry", job_id)
            with self._db.write() as session:
                job = session.get(Job, job_id)
                if job is not None:
                    job.enqueued_at = None

    def file_settled(self, file_id: uuid.UUID) -> None:
        """The file is verified (or failed): start its waiting jobs (or fail them)."""
        with self._db.write() as session:
            file = session.get(StoredFile, file_id)
            if file is None:
                return
            jobs = session.scalars(
                select(Job).where(Job.file_id == file_id, Job.state == JobState.queued)
            ).all()
            if file.state == FileState.failed:
                for job in jobs:
                    _fail(job, f"the input file failed: {file.error}")
                return
            ids = [job.id for job in jobs] if file.state == FileState.ready else []
        for job_id in ids:
            self.dispatch(job_id)

    # -- read -------------------------------------------------------------------------

    def get(self, owner_id: uuid.UUID, job_id: uuid.UUID) -> Job:
        """The job; NotFound unless `owner_id` owns it."""
        with self._db.read() as session:
            return get_owned(session, Job, job_id, owner_id, what="job")

    def list_owned(
        self,
        owner_id: uuid.UUID,
        *,
        page: int,
        per_page: int,
        state: JobState | None = None,
        file_id: uuid.UUID | None = None,
        id_prefix: str | None = None,
    ) -> tuple[list[Job], int]:
        """One page of the owner's jobs, newest first, and how many match in all.

        `id_prefix` keeps those whose id starts with it (see `lfp.db.id_prefix`).
        """
        where = [Job.owner_id == owner_id]
        if state is not None:
            where.append(Job.state == state)
        if file_id is not None:
            where.append(Job.file_id == file_id)
        if id_prefix is not None:
            where.append(id_starts_with(Job.id, id_prefix))
        query = select(Job).where(*where).order_by(Job.created_at.desc(), Job.id)
        with self._db.read() as session:
            return page_of(session, query, page=page, per_page=per_page)

    def output(self, owner_id: uuid.UUID, job_id: uuid.UUID, name: str) -> JobOutput:
        """The job's output `name`; NotFound when the job or the output does not exist."""
        job = self.get(owner_id, job_id)
        for output in job.outputs:
            if output.name == name:
                return output
        names = ", ".join(o.name for o in job.outputs) or "none"
        raise NotFound(f"job {job_id} has no output {name!r} (it has: {names})")

    def read_output(self, output: JobOutput, start: int, end: int) -> Iterator[bytes]:
        """The bytes of an output in `[start, end)`."""
        return self._store.read(output.storage_key, start, end)

    # -- change -----------------------------------------------------------------------

    def cancel(self, owner_id: uuid.UUID, job_id: uuid.UUID) -> Job:
        """Cancel a queued job at once, or ask a running one to stop; Conflict once ended."""
        with self._db.write() as session:
            job = get_owned(session, Job, job_id, owner_id, what="job", lock=True)
            if job.state.finished:
                raise Conflict(f"job {job_id} has already {job.state.value}")
            job.cancel_requested = True
            if job.state == JobState.queued:
                job.state = JobState.cancelled
                job.finished_at = utcnow()
        return self.get(owner_id, job_id)

    def recover(
        self, alive: frozenset[uuid.UUID] = frozenset(), *, resend_all: bool = False
    ) -> int:
        """Queue again jobs whose worker died or whose message was lost; how many.

        `alive` are jobs known to run in this process: their lease may have lapsed only
        because a long SQLite transaction held up their heartbeat. `resend_all` hands every
        queued job to the executor again, however recently it was sent: for a start after
        a crash, when the executor kept its queue in the memory of the process that died.
        Safe to run from every server at once: a job dispatched twice still runs once.
        """
        now = utcnow()
        stale = now if resend_all else now - timedelta(seconds=self._settings.job_requeue_seconds)
        with self._db.write() as session:
            # Skip rows a worker is claiming or renewing right now: taking them would undo
            # a claim made after this query looked.
            for job in session.scalars(
                select(Job)
                .where(Job.state == JobState.running, Job.lease_until < now)
                .with_for_update(skip_locked=True)
            ):
                if job.id in alive:
                    continue
                log.warning("job %s lost its worker; queueing it again", job.id)
                job.state = JobState.queued
                job.claim = None
                job.lease_until = None
                job.enqueued_at = None
        with self._db.read() as session:
            rows = session.execute(
                select(Job.id, Job.file_id, StoredFile.state, Job.enqueued_at, Job.dispatches)
                .join(StoredFile, StoredFile.id == Job.file_id)
                .where(Job.state == JobState.queued)
                .where(StoredFile.state != FileState.verifying)
                .where(or_(Job.enqueued_at.is_(None), Job.enqueued_at < stale))
            ).all()
        recovered = 0
        for job_id, file_id, file_state, enqueued_at, dispatches in rows:
            if file_state == FileState.failed:
                self.file_settled(file_id)  # a crash came between the file failing and this
            elif (
                resend_all
                or enqueued_at is None
                or enqueued_at < now - self._requeue_after(dispatches)
            ):
                self.dispatch(job_id)
            else:
                continue
            recovered += 1
        return recovered

    def _requeue_after(self, dispatches: int) -> timedelta:
        """How long a dispatched job may wait before it is sent again.

        Doubles with each resend (up to 64 times the setting): a long backlog behind busy
        workers is normal, and must not fill the broker with copies of every message.
        """
        factor = 2 ** min(max(dispatches - 1, 0), 6)
        return timedelta(seconds=self._settings.job_requeue_seconds * factor)

    def shutdown(self) -> None:
        """Stop the executor (local jobs go back to the queue)."""
        self._executor.shutdown()


def _fail(job: Job, error: str) -> None:
    job.state = JobState.failed
    job.error = error
    job.finished_at = utcnow()
