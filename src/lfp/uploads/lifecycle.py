"""The life of an upload: create, look up, complete into a file, abort, expire.

Every protocol (native chunks, tus appends, Dropzone) creates and completes its uploads
here; the bytes arrive through `chunks` or `appends`. Completion creates the file through
the files service, which starts verifying it once the transaction commits, and queues the
upload's job through the narrow `JobQueue`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.ownership import get_owned
from lfp.errors import Conflict, InsufficientStorage
from lfp.files.models import StoredFile
from lfp.files.service import FileService
from lfp.jobs.models import Job
from lfp.metrics import Metrics
from lfp.storage import BlobStore, StorageFull
from lfp.uploads.declared import Declared, check_declared
from lfp.uploads.models import ChunkState, ConcatRole, Upload, UploadChunk, UploadState
from lfp.uploads.quota import check_new_upload
from lfp.uploads.rules import check_appended, check_chunks, expiry_from_now, final_size
from lfp.uploads.schemas import CompleteOut, UploadOut
from lfp.uploads.views import upload_view

log = logging.getLogger(__name__)


class JobQueue(Protocol):
    """What completing an upload needs of the jobs service."""

    def validate(self, processor: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` checked for `processor`; `Unprocessable` when either is wrong."""

    def add(
        self,
        session: Session,
        file: StoredFile,
        processor: str,
        params: dict[str, Any],
        upload_started_at: datetime | None = None,
    ) -> Job:
        """A queued job on `file`, in the caller's transaction; it starts once the file is
        ready."""

    def dispatch(self, job_id: uuid.UUID) -> None:
        """Start a queued job whose file is ready already (after its transaction commits)."""


@dataclass(frozen=True)
class Description:
    """What a client says of the file it sends: name, type, checksum and the job to run."""

    filename: str
    content_type: str | None = None
    checksum: str | None = None
    processor: str | None = None
    params: dict[str, Any] | None = None
    # The client's metadata as it sent it, to give back as sent (tus Upload-Metadata).
    client_metadata: str | None = None


@dataclass(frozen=True)
class ProtocolFields:
    """What the in-order and Dropzone paths add to an upload they create."""

    # Written in order from offset 0 (tus), not in indexed chunks.
    in_order: bool = False
    concat: ConcatRole | None = None
    parts: list[str] | None = None
    # The client's own name for the upload; creating it again returns the first one.
    client_ref: str | None = None
    # Smallest chunk size allowed instead of the server's (clients with small fixed chunks).
    min_chunk_size: int | None = None


def owned(
    session: Session, owner_id: uuid.UUID, upload_id: uuid.UUID, *, lock: bool = False
) -> Upload:
    """The upload `upload_id`, if `owner_id` owns it; `NotFound` otherwise."""
    return get_owned(session, Upload, upload_id, owner_id, what="upload", lock=lock)


@dataclass(frozen=True)
class UploadLifecycle:
    """Creates uploads, reports them, turns complete ones into files, and ends idle ones."""

    db: Database
    store: BlobStore
    settings: Settings
    files: FileService
    jobs: JobQueue
    metrics: Metrics = field(default_factory=Metrics)

    # -- create and read -------------------------------------------------------------

    def create(
        self,
        owner_id: uuid.UUID,
        described: Description,
        *,
        size: int | None,
        chunk_size: int | None = None,
        protocol: ProtocolFields | None = None,
    ) -> UploadOut:
        """Start an upload of `size` bytes (None: declared later) in chunks of `chunk_size`.

        An upload with a `client_ref` the owner already used is returned as it is.
        """
        protocol = protocol or ProtocolFields()
        if protocol.client_ref is not None:
            existing = self.find_by_client_ref(owner_id, protocol.client_ref)
            if existing is not None:
                return existing
        upload = self._new_upload(owner_id, described, size, chunk_size, protocol)
        try:
            upload.staging_key = self.store.create_staging(
                upload.staging_key, size, upload.chunk_size
            )
        except StorageFull as exc:
            raise InsufficientStorage(str(exc)) from exc
        try:
            with self.db.write() as session:
                check_new_upload(
                    session, self.settings, owner_id, size, freeing=protocol.parts or ()
                )
                session.add(upload)
        except BaseException as exc:
            self.store.delete(upload.staging_key)
            if isinstance(exc, IntegrityError) and protocol.client_ref is not None:
                # Another request created the upload with this client_ref first: use that.
                existing = self.find_by_client_ref(owner_id, protocol.client_ref)
                if existing is not None:
                    return existing
            raise
        self.metrics.upload_event("created")
        return upload_view(upload, [])

    def check(
        self,
        owner_id: uuid.UUID,
        described: Description,
        *,
        size: int | None,
        chunk_size: int | None,
    ) -> None:
        """Refuse, as `create` would, an upload that would be refused, creating nothing:
        a client asks before it spends long on a large file (hashing it, say)."""
        self.declared(described, size, chunk_size, None)
        self._check_free_space(size or 0)
        with self.db.write() as session:  # for the user row's lock; it changes nothing
            check_new_upload(session, self.settings, owner_id, size)

    def declared(
        self,
        described: Description,
        size: int | None,
        chunk_size: int | None,
        min_chunk_size: int | None,
    ) -> Declared:
        """What the client declares, checked (`lfp.uploads.declared`)."""
        return check_declared(
            self.settings,
            self.store.limits,
            self.jobs,
            processor=described.processor,
            params=described.params,
            size=size,
            chunk_size=chunk_size,
            min_chunk_size=min_chunk_size,
        )

    def _new_upload(
        self,
        owner_id: uuid.UUID,
        described: Description,
        size: int | None,
        chunk_size: int | None,
        protocol: ProtocolFields,
    ) -> Upload:
        """The row of a new upload, once what it declares is checked."""
        declared = self.declared(described, size, chunk_size, protocol.min_chunk_size)
        params, chunk_size = declared.params, declared.chunk_size
        self._check_free_space(size or 0)
        upload_id = uuid.uuid4()
        return Upload(
            id=upload_id,
            owner_id=owner_id,
            filename=described.filename,
            content_type=described.content_type,
            size=size,
            chunk_size=chunk_size,
            checksum=described.checksum,
            processor=described.processor,
            params=params,
            state=UploadState.open,
            staging_key=f"uploads/{upload_id}",
            expires_at=self.next_expiry(),
            offset=0 if protocol.in_order else None,
            concat=protocol.concat,
            parts=protocol.parts,
            client_metadata=described.client_metadata,
            client_ref=protocol.client_ref,
        )

    def find_by_client_ref(self, owner_id: uuid.UUID, client_ref: str) -> UploadOut | None:
        """The owner's upload the client named `client_ref`, if there is one."""
        with self.db.read() as session:
            upload_id = session.scalar(
                select(Upload.id)
                .where(Upload.owner_id == owner_id)
                .where(Upload.client_ref == client_ref)
            )
        return self.get(owner_id, upload_id) if upload_id is not None else None

    def get(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> UploadOut:
        """The upload with its received chunks; `NotFound` unless `owner_id` owns it."""
        with self.db.read() as session:
            upload = owned(session, owner_id, upload_id)
            stored = _stored_sizes(session, upload_id)
        return upload_view(upload, sorted(stored.items()))

    # -- complete, abort, expire ------------------------------------------------------

    def complete(
        self,
        owner_id: uuid.UUID,
        upload_id: uuid.UUID,
        *,
        checksum: str | None = None,
        size: int | None = None,
    ) -> CompleteOut:
        """Turn an upload whose bytes are all stored into a file being verified.

        The job the upload asked for is queued with it and starts once the file is ready.
        Completing an already completed upload returns the same file again, so a client
        that lost the first answer can simply retry.
        """
        with self.db.write() as session:
            upload = owned(session, owner_id, upload_id, lock=True)
            return self.complete_locked(session, upload, checksum=checksum, size=size)

    def complete_locked(
        self,
        session: Session,
        upload: Upload,
        *,
        checksum: str | None = None,
        size: int | None = None,
    ) -> CompleteOut:
        """`complete` inside the caller's transaction, on an upload row it holds locked.

        The file is verified once that transaction commits.
        """
        if upload.state == UploadState.completed and upload.file_id is not None:
            return CompleteOut(file_id=upload.file_id, job_id=upload.job_id)
        if upload.state != UploadState.open:
            raise Conflict(f"upload is {upload.state.value} and cannot be completed")
        if upload.offset is not None:
            upload.size = check_appended(upload, size)
        else:
            stored = _stored_sizes(session, upload.id)
            upload.size = final_size(self.settings, upload, size, stored)
            check_chunks(upload, stored)
        if checksum and upload.checksum and checksum != upload.checksum:
            raise Conflict(
                f"checksum {checksum} differs from {upload.checksum} declared at creation"
            )
        if checksum:
            upload.checksum = checksum
        return self._make_file(session, upload)

    def _make_file(self, session: Session, upload: Upload) -> CompleteOut:
        assert upload.size is not None
        file = self.files.create_verifying(
            session,
            owner_id=upload.owner_id,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
            expected_checksum=upload.checksum,
            staging_key=upload.staging_key,
        )
        upload.state = UploadState.completed
        upload.file_id = file.id
        if upload.processor is not None:
            job = self.jobs.add(
                session,
                file,
                upload.processor,
                upload.params or {},
                upload_started_at=upload.created_at,
            )
            upload.job_id = job.id
        self.metrics.upload_event("completed")
        return CompleteOut(file_id=file.id, job_id=upload.job_id)

    def abort(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Give up an open upload and reclaim its space; aborting twice is harmless."""
        with self.db.write() as session:
            upload = owned(session, owner_id, upload_id, lock=True)
            if upload.state == UploadState.completed:
                raise Conflict("upload is completed; delete the file instead")
            if upload.state == UploadState.open:
                upload.state = UploadState.aborted
                session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
            staging_key = upload.staging_key
        self.store.delete(staging_key)

    def discard(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Abort an upload its own request gave up on (a stream that failed): its bytes first.

        The staging blob is removed before the abort is recorded, so a full disk, which may
        keep the database from writing, never keeps the bytes. Should the abort still not be
        recorded, the upload stays open without bytes until it expires.
        """
        with self.db.read() as session:
            staging_key = owned(session, owner_id, upload_id).staging_key
        self.store.delete(staging_key)
        try:
            self.abort(owner_id, upload_id)
        except Exception:
            log.warning("could not record the abort of upload %s", upload_id, exc_info=True)

    def expire(self, now: datetime | None = None, batch: int = 100) -> int:
        """Expire open uploads idle past their expiry and reclaim their space; how many."""
        now = now or utcnow()
        with self.db.write() as session:
            uploads = session.scalars(
                select(Upload)
                .where(Upload.state == UploadState.open)
                .where(Upload.expires_at < now)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for upload in uploads:
                upload.state = UploadState.expired
            ids = [u.id for u in uploads]
            if ids:
                session.execute(delete(UploadChunk).where(UploadChunk.upload_id.in_(ids)))
            keys = [u.staging_key for u in uploads]
        for key in keys:
            self.store.delete(key)
        if keys:
            log.info("expired %d idle uploads", len(keys))
            self.metrics.upload_event("expired", len(keys))
        return len(keys)

    # -- helpers ---------------------------------------------------------------------

    def next_expiry(self) -> datetime:
        """When an upload touched now expires if nothing more arrives."""
        return expiry_from_now(self.settings)

    def _check_free_space(self, size: int) -> None:
        free = self.store.free_space()
        if free is not None and free - size < self.settings.min_free_bytes:
            raise InsufficientStorage(
                f"the store has {free} bytes free; {size} more would leave less than the "
                f"{self.settings.min_free_bytes} bytes it keeps in reserve"
            )


def _stored_sizes(session: Session, upload_id: uuid.UUID) -> dict[int, int]:
    rows = session.execute(
        select(UploadChunk.index, UploadChunk.size)
        .where(UploadChunk.upload_id == upload_id)
        .where(UploadChunk.state == ChunkState.stored)
    ).all()
    return {index: size for index, size in rows}
