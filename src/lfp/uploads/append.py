"""Uploads written in order from offset 0 (tus): append, report the offset, concatenate.

The same uploads as the chunked API, with the same states, verification and jobs: an
in-order upload keeps one `offset` instead of indexed chunks, and completes in the very
transaction that records its last byte. Appends to one upload are serialised by a lease
on its row, which holds across API servers and lapses when its holder dies.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import anyio
from anyio import to_thread
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Forbidden,
    Gone,
    Locked,
    NotFound,
    TooLarge,
)
from lfp.storage import BlobStore, StorageError
from lfp.uploads.models import ConcatRole, Upload, UploadState
from lfp.uploads.schemas import UploadOut
from lfp.uploads.service import ProtocolFields, UploadService
from lfp.uploads.writing import BodyCut, Progress, write_body

# How long an append waits for the append holding the upload to stop (which it does within
# a second of being asked) before it answers 423: only a hung or dead holder takes longer.
LOCK_WAIT_SECONDS = 3.0
LOCK_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class BodyChecksum:
    """A digest the client sent for one request body (tus Upload-Checksum)."""

    algorithm: str
    digest: bytes


@dataclass(frozen=True)
class Description:
    """What a client says of the file it sends: name, type, checksum and the job to run."""

    filename: str
    content_type: str | None = None
    checksum: str | None = None
    processor: str | None = None
    params: dict[str, Any] | None = None
    # The client's metadata as it sent it, to give back (tus Upload-Metadata).
    client_metadata: str | None = None


@dataclass(frozen=True)
class InOrderUpload:
    """What a tus client may learn of an upload."""

    id: uuid.UUID
    offset: int
    size: int | None
    state: UploadState
    expires_at: datetime
    concat: ConcatRole | None
    parts: list[uuid.UUID]
    client_metadata: str | None
    file_id: uuid.UUID | None
    job_id: uuid.UUID | None


@dataclass(frozen=True)
class _Lease:
    staging_key: str
    offset: int
    max_length: int
    token: uuid.UUID


@dataclass(frozen=True)
class _Busy:
    """Another append holds the lease for `retry_after` more seconds at most."""

    retry_after: float


_StopReason = Literal["asked", "lost"]


@dataclass
class _Stop:
    """Why an append's heartbeat stopped it: another request `asked`, or the lease was `lost`."""

    reason: _StopReason | None = None


@dataclass(frozen=True)
class _Want:
    """What an append asks for: `length` bytes (if declared) at `offset` of an upload."""

    owner_id: uuid.UUID
    upload_id: uuid.UUID
    offset: int
    length: int | None
    declared_size: int | None


class UploadAppender:
    """Creates in-order uploads, appends request bodies to them and joins partial ones."""

    def __init__(
        self, db: Database, store: BlobStore, settings: Settings, uploads: UploadService
    ) -> None:
        self._db = db
        self._store = store
        self._settings = settings
        self._uploads = uploads

    # -- create and read -------------------------------------------------------------

    def create(
        self,
        owner_id: uuid.UUID,
        described: Description,
        *,
        size: int | None,
        partial: bool = False,
    ) -> InOrderUpload:
        """Start an in-order upload of `size` bytes (None: declared by a later append)."""
        created = self._create(
            owner_id, described, size, ConcatRole.partial if partial else None, None
        )
        if size == 0 and not partial:
            # An empty file is complete as soon as it exists.
            self._finish_empty(owner_id, created.id)
        return self.get(owner_id, created.id)

    def _create(
        self,
        owner_id: uuid.UUID,
        described: Description,
        size: int | None,
        concat: ConcatRole | None,
        parts: list[uuid.UUID] | None,
    ) -> UploadOut:
        return self._uploads.create(
            owner_id,
            filename=described.filename,
            size=size,
            checksum=described.checksum,
            content_type=described.content_type,
            processor=described.processor,
            params=described.params,
            protocol=ProtocolFields(
                in_order=True,
                concat=concat,
                parts=[str(part) for part in parts] if parts is not None else None,
                client_metadata=described.client_metadata,
            ),
        )

    def _finish_empty(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        with self._db.write() as session:
            upload = self._owned(session, owner_id, upload_id, lock=True)
            done = self._uploads.complete_locked(session, upload)
        self._uploads.submit_verification(done.file_id)

    def get(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> InOrderUpload:
        """The upload as tus reports it; `Gone` once it was terminated or expired."""
        with self._db.read() as session:
            upload = self._owned(session, owner_id, upload_id)
            _check_alive(upload)
            return _view(upload)

    def _owned(
        self, session: Session, owner_id: uuid.UUID, upload_id: uuid.UUID, *, lock: bool = False
    ) -> Upload:
        upload = session.get(Upload, upload_id, with_for_update=lock)
        if upload is None or upload.owner_id != owner_id:
            raise NotFound(f"no upload {upload_id}")
        if upload.offset is None:
            raise NotFound(f"upload {upload_id} takes indexed chunks (/api/v1/uploads), not tus")
        return upload

    def terminate(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Give the upload up and reclaim its space (tus termination)."""
        with self._db.read() as session:
            self._owned(session, owner_id, upload_id)
        self._uploads.abort(owner_id, upload_id)

    # -- append ----------------------------------------------------------------------

    async def append(
        self,
        owner_id: uuid.UUID,
        upload_id: uuid.UUID,
        body: AsyncIterator[bytes],
        *,
        offset: int,
        length: int | None,
        declared_size: int | None = None,
        checksum: BodyChecksum | None = None,
    ) -> InOrderUpload:
        """Append `body` at `offset`, which must be where the upload stands; the new state.

        `length` is the body's declared length, if any; `declared_size` gives a deferred
        upload its length. With a `checksum` nothing is kept unless the whole body arrived
        and matched; without one, a body cut off midway keeps the bytes that arrived
        (`BodyCut` is raised after they are recorded), so the client resumes from there.
        A newer append to the same upload stops this one the same way (`Conflict`).
        """
        lease = await self._acquire(_Want(owner_id, upload_id, offset, length, declared_size))
        release = functools.partial(self._release, upload_id, lease.token)
        try:
            writer = await to_thread.run_sync(
                self._store.open_append, lease.staging_key, lease.offset, lease.max_length
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(release)
            raise
        hasher = hashlib.new(checksum.algorithm) if checksum is not None else None
        progress = Progress()
        stopped = _Stop()
        try:
            with anyio.CancelScope() as holding:
                # A task of its own, not a task group: errors of the write stay plain.
                heartbeat = asyncio.create_task(
                    self._keep_lease(upload_id, lease.token, holding, stopped)
                )
                try:
                    received = await write_body(
                        body,
                        writer,
                        max_length=lease.max_length,
                        too_long=lambda: TooLarge(
                            "the body runs past the upload's end "
                            f"({lease.max_length} bytes were left)"
                        ),
                        hasher=hasher,
                        progress=progress,
                    )
                finally:
                    heartbeat.cancel()
                    with anyio.CancelScope(shield=True):
                        await asyncio.gather(heartbeat, return_exceptions=True)
            if stopped.reason is not None:
                raise BodyCut(progress.written)
            if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
                raise ChecksumMismatch(
                    f"the body's {checksum.algorithm} does not match Upload-Checksum; "
                    "nothing was appended"
                )
            await to_thread.run_sync(writer.commit)
        except BodyCut as cut:
            keep = checksum is None and cut.received > 0 and stopped.reason != "lost"
            with anyio.CancelScope(shield=True):
                if keep:
                    await to_thread.run_sync(writer.commit)
                    await to_thread.run_sync(self._record, upload_id, lease.token, cut.received)
                else:
                    await to_thread.run_sync(writer.abort)
                    await to_thread.run_sync(release)
            if stopped.reason is None:
                raise
            if stopped.reason == "lost":
                raise Conflict(
                    "this request lost its hold on the upload (the server could not renew it); "
                    "nothing was kept"
                ) from None
            kept = (
                f"the {cut.received} bytes that had arrived were kept"
                if keep
                else "nothing was kept"
            )
            raise Conflict(
                f"another request for this upload arrived, so this one stopped; {kept}"
            ) from None
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(writer.abort)
                await to_thread.run_sync(release)
            raise
        return await to_thread.run_sync(self._record, upload_id, lease.token, received)

    async def _keep_lease(
        self, upload_id: uuid.UUID, token: uuid.UUID, holding: anyio.CancelScope, stop: _Stop
    ) -> None:
        """Renew the lease while the append runs; cancel `holding` when asked to let go."""
        interval = min(1.0, self._settings.chunk_lease_seconds / 3)
        while True:
            await anyio.sleep(interval)
            reason = await to_thread.run_sync(self._renew, upload_id, token)
            if reason is not None:
                stop.reason = reason
                holding.cancel()
                return

    async def _acquire(self, want: _Want) -> _Lease:
        """The append lease on the upload; a holder still appending is asked to stop first."""
        deadline = anyio.current_time() + LOCK_WAIT_SECONDS
        while True:
            lease = await to_thread.run_sync(self._lease, want)
            if isinstance(lease, _Lease):
                return lease
            if anyio.current_time() >= deadline:
                # The holder did not let go: its server is hung or dead, and its lease
                # lapses at the latest `retry_after` from now.
                seconds = max(1, int(lease.retry_after + 0.999))
                raise Locked(
                    "another request is appending to this upload and did not stop; "
                    f"retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
            await anyio.sleep(LOCK_POLL_SECONDS)

    def _lease(self, want: _Want) -> _Lease | _Busy:
        now = utcnow()
        with self._db.write() as session:
            upload = self._owned(session, want.owner_id, want.upload_id, lock=True)
            _check_alive(upload)
            if upload.concat == ConcatRole.final:
                raise Forbidden("a final (concatenated) upload takes no appends")
            if upload.state != UploadState.open:
                raise Conflict(f"upload is {upload.state.value}, it takes no more bytes")
            if upload.append_lease_until is not None and upload.append_lease_until > now:
                # Committed with this transaction: the holder sees it at its next heartbeat.
                upload.append_stop = True
                return _Busy((upload.append_lease_until - now).total_seconds())
            assert upload.offset is not None
            if want.offset != upload.offset:
                raise Conflict(
                    f"Upload-Offset {want.offset} is not where the upload stands "
                    f"({upload.offset}); ask with HEAD and resume from there",
                    extra={"offset": upload.offset},
                )
            if want.declared_size is not None:
                self._declare_size(upload, want.declared_size)
            end = upload.size if upload.size is not None else self._settings.max_upload_size
            max_length = end - upload.offset
            if want.length is not None and want.length > max_length:
                raise TooLarge(
                    f"a body of {want.length} bytes at offset {upload.offset} runs past the "
                    f"upload's end ({end} bytes)"
                )
            token = uuid.uuid4()
            upload.append_claim = token
            upload.append_lease_until = now + timedelta(seconds=self._settings.chunk_lease_seconds)
            upload.append_stop = None
            return _Lease(upload.staging_key, upload.offset, max_length, token)

    def _declare_size(self, upload: Upload, size: int) -> None:
        assert upload.offset is not None
        if upload.size is not None:
            if size != upload.size:
                raise BadRequest(f"Upload-Length is already {upload.size}; it cannot change")
            return
        if size > self._settings.max_upload_size:
            raise TooLarge(
                f"{size} bytes is more than this server accepts ({self._settings.max_upload_size})"
            )
        if size < upload.offset:
            raise BadRequest(f"Upload-Length {size} is less than the {upload.offset} bytes sent")
        upload.size = size

    def _renew(self, upload_id: uuid.UUID, token: uuid.UUID) -> _StopReason | None:
        """Extend the lease; why the holder must stop instead, if it must."""
        lease_until = utcnow() + timedelta(seconds=self._settings.chunk_lease_seconds)
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            if upload is None or upload.append_claim != token:
                return "lost"
            if upload.append_stop:
                return "asked"
            upload.append_lease_until = lease_until
            return None

    def _release(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            if upload is not None and upload.append_claim == token:
                _clear_lease(upload)

    def _record(self, upload_id: uuid.UUID, token: uuid.UUID, received: int) -> InOrderUpload:
        """Move the offset past `received` bytes and release the lease; complete at the end."""
        submit: uuid.UUID | None = None
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            if upload is None or upload.state != UploadState.open:
                raise Conflict("the upload was closed while this body was being written")
            if upload.append_claim != token:
                raise Conflict("this request lost its hold on the upload (it went silent)")
            assert upload.offset is not None
            upload.offset += received
            _clear_lease(upload)
            upload.expires_at = utcnow() + timedelta(seconds=self._settings.upload_expiry_seconds)
            if upload.offset == upload.size and upload.concat is None:
                submit = self._uploads.complete_locked(session, upload).file_id
            view = _view(upload)
        if submit is not None:
            self._uploads.submit_verification(submit)
        return view

    # -- concatenation ---------------------------------------------------------------

    def concatenate(
        self, owner_id: uuid.UUID, part_ids: list[uuid.UUID], described: Description
    ) -> InOrderUpload:
        """A final upload made of the complete partial uploads `part_ids`, in that order.

        The partial uploads are used up: their bytes become the final upload's, which
        completes at once (verification and its job follow as for any upload).
        """
        if not part_ids:
            raise BadRequest("a final upload needs at least one partial upload")
        if len(set(part_ids)) != len(part_ids):
            raise BadRequest("a partial upload is named twice")
        with self._db.read() as session:
            parts = [self._complete_part(session, owner_id, part_id) for part_id in part_ids]
            total = sum(part.size or 0 for part in parts)
            keys = [part.staging_key for part in parts]
        final = self._create(owner_id, described, total, ConcatRole.final, part_ids)
        try:
            with self._db.read() as session:
                staging_key = self._owned(session, owner_id, final.id).staging_key
            self._store.concatenate(staging_key, keys)
            with self._db.write() as session:
                for part_id in part_ids:
                    part = self._complete_part(session, owner_id, part_id, lock=True)
                    part.state = UploadState.concatenated
                upload = self._owned(session, owner_id, final.id, lock=True)
                upload.offset = total
                done = self._uploads.complete_locked(session, upload)
                view = _view(upload)
        except BaseException as exc:
            self._uploads.abort(owner_id, final.id)
            if isinstance(exc, StorageError):
                raise Conflict(f"the partial uploads could not be joined: {exc}") from exc
            raise
        for key in keys:
            self._store.delete(key)
        self._uploads.submit_verification(done.file_id)
        return view

    def _complete_part(
        self, session: Session, owner_id: uuid.UUID, part_id: uuid.UUID, *, lock: bool = False
    ) -> Upload:
        part = self._owned(session, owner_id, part_id, lock=lock)
        if part.concat != ConcatRole.partial:
            raise BadRequest(f"upload {part_id} is not a partial upload (Upload-Concat: partial)")
        if part.state == UploadState.concatenated:
            raise Conflict(f"partial upload {part_id} is already part of a final upload")
        _check_alive(part)
        if part.state != UploadState.open or part.size is None or part.offset != part.size:
            have = f"{part.offset} of {part.size if part.size is not None else '?'}"
            raise Conflict(f"partial upload {part_id} is not complete ({have} bytes)")
        return part


def _clear_lease(upload: Upload) -> None:
    upload.append_claim = None
    upload.append_lease_until = None
    upload.append_stop = None


def _check_alive(upload: Upload) -> None:
    if upload.state in (UploadState.aborted, UploadState.expired):
        raise Gone(f"upload {upload.id} was {upload.state.value}; start a new one")
    if upload.state == UploadState.concatenated:
        raise Gone(f"partial upload {upload.id} was joined into a final upload")


def _view(upload: Upload) -> InOrderUpload:
    assert upload.offset is not None
    return InOrderUpload(
        id=upload.id,
        offset=upload.offset,
        size=upload.size,
        state=upload.state,
        expires_at=upload.expires_at,
        concat=upload.concat,
        parts=[uuid.UUID(part) for part in upload.parts or []],
        client_metadata=upload.client_metadata,
        file_id=upload.file_id,
        job_id=upload.job_id,
    )
