"""The upload state machine: create, receive chunks, report, complete, abort, expire.

The native API, tus and Dropzone all drive this one service. Chunk bodies stream straight
to their offsets in the staging blob; a chunk is recorded only once all its bytes are
stored and its digest matched, so a failed request never leaves a chunk half-recorded.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.errors import BadRequest, Conflict, InsufficientStorage, NotFound, TooLarge, Unprocessable
from lfp.files.models import FileState, StoredFile
from lfp.files.verify import Verifier
from lfp.jobs.service import JobService
from lfp.storage import BlobStore, StorageFull
from lfp.uploads.models import ChunkState, ConcatRole, Upload, UploadChunk, UploadState
from lfp.uploads.schemas import CompleteOut, UploadOut
from lfp.uploads.streams import split_stream
from lfp.uploads.writing import write_body

log = logging.getLogger(__name__)


def chunk_count(size: int, chunk_size: int) -> int:
    """How many chunks a file of `size` bytes has."""
    return -(-size // chunk_size)


@dataclass(frozen=True)
class ProtocolFields:
    """What the tus and Dropzone adapters add to an upload they create."""

    # Written in order from offset 0 (tus), not in indexed chunks.
    in_order: bool = False
    concat: ConcatRole | None = None
    parts: list[str] | None = None
    client_metadata: str | None = None
    # The client's own name for the upload; creating it again returns the first one.
    client_ref: str | None = None
    # Smallest chunk size allowed instead of the server's (clients with small fixed chunks).
    min_chunk_size: int | None = None


@dataclass(frozen=True)
class _Claim:
    """A chunk reserved for one request, or found already stored."""

    staging_key: str
    offset: int
    max_length: int
    exact_length: bool
    token: uuid.UUID
    stored: bool = False
    stored_sha256: str | None = None


class UploadService:
    """Creates uploads, receives their chunks and turns complete ones into files."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        settings: Settings,
        verifier: Verifier,
        jobs: JobService,
    ) -> None:
        self._db = db
        self._store = store
        self._settings = settings
        self._verifier = verifier
        self._jobs = jobs

    # -- create and read -------------------------------------------------------------

    def create(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        size: int | None,
        chunk_size: int | None = None,
        checksum: str | None = None,
        content_type: str | None = None,
        processor: str | None = None,
        params: dict[str, Any] | None = None,
        protocol: ProtocolFields | None = None,
    ) -> UploadOut:
        """Start an upload of `size` bytes (None: declared later) in chunks of `chunk_size`.

        `protocol` carries what the tus and Dropzone adapters add. An upload with a
        `client_ref` the owner already used is returned as it is, not created again.
        """
        settings = self._settings
        protocol = protocol or ProtocolFields()
        if protocol.client_ref is not None:
            existing = self.find_by_client_ref(owner_id, protocol.client_ref)
            if existing is not None:
                return existing
        if processor is not None:
            # Checked now, so a bad job is refused before gigabytes are sent, not after.
            params = self._jobs.validate(processor, params)
        elif params:
            raise Unprocessable("params were given without a processor to run")
        if size is not None and size > settings.max_upload_size:
            raise TooLarge(
                f"{size} bytes is more than this server accepts ({settings.max_upload_size})"
            )
        chunk_size = chunk_size or settings.default_chunk_size
        self._check_chunk_size(size, chunk_size, protocol.min_chunk_size)
        self._check_free_space(size or 0)
        upload_id = uuid.uuid4()
        upload = Upload(
            id=upload_id,
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            size=size,
            chunk_size=chunk_size,
            checksum=checksum,
            processor=processor,
            params=params,
            state=UploadState.open,
            staging_key=f"uploads/{upload_id}",
            expires_at=self._next_expiry(),
            offset=0 if protocol.in_order else None,
            concat=protocol.concat,
            parts=protocol.parts,
            client_metadata=protocol.client_metadata,
            client_ref=protocol.client_ref,
        )
        try:
            self._store.create_staging(upload.staging_key, size)
        except StorageFull as exc:
            raise InsufficientStorage(str(exc)) from exc
        try:
            with self._db.write() as session:
                session.add(upload)
        except IntegrityError:
            # Another request created the upload with this client_ref first: use that one.
            self._store.delete(upload.staging_key)
            if protocol.client_ref is not None:
                existing = self.find_by_client_ref(owner_id, protocol.client_ref)
                if existing is not None:
                    return existing
            raise
        except BaseException:
            self._store.delete(upload.staging_key)
            raise
        return _view(upload, [])

    def _check_chunk_size(self, size: int | None, chunk_size: int, floor: int | None) -> None:
        settings = self._settings
        floor = settings.min_chunk_size if floor is None else floor
        single_chunk = size is not None and size <= chunk_size
        if chunk_size > settings.max_chunk_size or (chunk_size < floor and not single_chunk):
            raise Unprocessable(
                f"chunk_size must be between {floor} and {settings.max_chunk_size} bytes "
                "(only a file that fits in one chunk may use a smaller one)"
            )

    def find_by_client_ref(self, owner_id: uuid.UUID, client_ref: str) -> UploadOut | None:
        """The owner's upload the client named `client_ref`, if there is one."""
        with self._db.read() as session:
            upload_id = session.scalar(
                select(Upload.id)
                .where(Upload.owner_id == owner_id)
                .where(Upload.client_ref == client_ref)
            )
        return self.get(owner_id, upload_id) if upload_id is not None else None

    def get(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> UploadOut:
        """The upload with its received chunks; `NotFound` unless `owner_id` owns it."""
        with self._db.read() as session:
            upload = _owned(session, owner_id, upload_id)
            rows = session.execute(
                select(UploadChunk.index, UploadChunk.size)
                .where(UploadChunk.upload_id == upload_id)
                .where(UploadChunk.state == ChunkState.stored)
                .order_by(UploadChunk.index)
            ).all()
        return _view(upload, [(index, size) for index, size in rows])

    # -- chunks ----------------------------------------------------------------------

    async def put_chunk(
        self,
        owner_id: uuid.UUID,
        upload_id: uuid.UUID,
        index: int,
        body: AsyncIterator[bytes],
        *,
        length: int | None,
        expected_sha256: bytes | None = None,
    ) -> bool:
        """Store chunk `index` from `body`; True if written, False if it was already stored.

        `length` is the declared body length, if the client declared one. Nothing is
        recorded unless every byte arrived, the length is right and the digest matches.
        """
        claim = await to_thread.run_sync(self._claim, owner_id, upload_id, index, length)
        if claim.stored:
            await self._compare_resent(claim, upload_id, index, body, expected_sha256)
            return False
        writer = await to_thread.run_sync(
            self._store.open_part, claim.staging_key, index, claim.offset, claim.max_length
        )
        try:
            # Hashing costs a fifth of the server's CPU per byte, so it is done only when the
            # client declared a digest; a re-sent chunk is compared by reading it back.
            hasher = hashlib.sha256() if expected_sha256 is not None else None
            received = await write_body(
                body,
                writer,
                max_length=claim.max_length,
                too_long=lambda: BadRequest(
                    f"chunk {index} is longer than its {claim.max_length} bytes"
                ),
                hasher=hasher,
                renew=functools.partial(self._renew, upload_id, index, claim.token),
                renew_every=self._settings.chunk_lease_seconds / 3,
            )
            _check_length(claim, received)
            if hasher is not None and hasher.digest() != expected_sha256:
                raise Unprocessable("Content-Digest does not match the chunk's bytes")
            await to_thread.run_sync(writer.commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(writer.abort)
                await to_thread.run_sync(self._release, upload_id, index, claim.token)
            raise
        sha256 = hasher.hexdigest() if hasher is not None else None
        await to_thread.run_sync(self._record, upload_id, index, claim.token, sha256, received)
        return True

    async def _compare_resent(
        self,
        claim: _Claim,
        upload_id: uuid.UUID,
        index: int,
        body: AsyncIterator[bytes],
        expected_sha256: bytes | None,
    ) -> None:
        digest = hashlib.sha256()
        received = 0
        async for piece in body:
            received += len(piece)
            if received > claim.max_length:
                raise BadRequest(f"body is longer than the chunk's {claim.max_length} bytes")
            digest.update(piece)
        _check_length(claim, received)
        if expected_sha256 is not None and digest.digest() != expected_sha256:
            raise Unprocessable("Content-Digest does not match the chunk's bytes")
        stored = claim.stored_sha256 or await to_thread.run_sync(
            self._digest_stored, claim, upload_id, index
        )
        if digest.hexdigest() != stored:
            raise Conflict("this chunk is already stored with different bytes")

    def _digest_stored(self, claim: _Claim, upload_id: uuid.UUID, index: int) -> str:
        """The sha256 of a stored chunk, read back once and then kept with it."""
        hasher = hashlib.sha256()
        end = claim.offset + claim.max_length
        for block in self._store.read(claim.staging_key, claim.offset, end):
            hasher.update(block)
        with self._db.write() as session:
            row = session.get(UploadChunk, (upload_id, index), with_for_update=True)
            if row is not None and row.state == ChunkState.stored:
                row.sha256 = hasher.hexdigest()
        return hasher.hexdigest()

    def _claim(
        self, owner_id: uuid.UUID, upload_id: uuid.UUID, index: int, length: int | None
    ) -> _Claim:
        now = utcnow()
        token = uuid.uuid4()
        lease_until = now + timedelta(seconds=self._settings.chunk_lease_seconds)
        with self._db.write() as session:
            upload = _owned(session, owner_id, upload_id, lock=True)
            if upload.state != UploadState.open:
                raise Conflict(f"upload is {upload.state.value}, it takes no more chunks")
            if upload.offset is not None:
                raise Conflict("this upload is written in order (tus); it takes no indexed chunks")
            max_length, exact = self._chunk_bounds(upload, index)
            if length is not None and (length > max_length or (exact and length != max_length)):
                expected = f"{max_length}" if exact else f"at most {max_length}"
                raise BadRequest(f"chunk {index} must be {expected} bytes, not {length}")
            claim = _Claim(upload.staging_key, index * upload.chunk_size, max_length, exact, token)
            row = session.get(UploadChunk, (upload_id, index), with_for_update=True)
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(
                            UploadChunk(
                                upload_id=upload_id,
                                index=index,
                                size=max_length,
                                state=ChunkState.writing,
                                claim=token,
                                lease_until=lease_until,
                            )
                        )
                except IntegrityError:
                    raise _busy(index, self._settings.chunk_lease_seconds) from None
                return claim
            if row.state == ChunkState.stored:
                return _Claim(
                    claim.staging_key,
                    claim.offset,
                    row.size,
                    True,
                    token,
                    stored=True,
                    stored_sha256=row.sha256,
                )
            assert row.lease_until is not None
            if row.lease_until > now:
                raise _busy(index, (row.lease_until - now).total_seconds())
            # The request that held this chunk went silent (say its server died): take over.
            row.claim = token
            row.lease_until = lease_until
            return claim

    def _chunk_bounds(self, upload: Upload, index: int) -> tuple[int, bool]:
        """The most bytes chunk `index` may hold, and whether it must hold exactly that."""
        if upload.size is None:
            last = chunk_count(self._settings.max_upload_size, upload.chunk_size) - 1
            if index < 0:
                raise BadRequest(f"chunk index {index} is out of range")
            if index > last:
                raise TooLarge(
                    f"chunk {index} would make the file larger than this server accepts "
                    f"({self._settings.max_upload_size} bytes)"
                )
            return upload.chunk_size, False
        count = chunk_count(upload.size, upload.chunk_size)
        if not 0 <= index < count:
            span = f"0..{count - 1}" if count else "empty (the file has no bytes)"
            raise BadRequest(f"chunk index {index} is out of range {span}")
        return min(upload.chunk_size, upload.size - index * upload.chunk_size), True

    def _renew(self, upload_id: uuid.UUID, index: int, token: uuid.UUID) -> None:
        lease_until = utcnow() + timedelta(seconds=self._settings.chunk_lease_seconds)
        with self._db.write() as session:
            row = session.get(UploadChunk, (upload_id, index), with_for_update=True)
            if row is not None and row.claim == token:
                row.lease_until = lease_until

    def _release(self, upload_id: uuid.UUID, index: int, token: uuid.UUID) -> None:
        with self._db.write() as session:
            session.execute(
                delete(UploadChunk)
                .where(UploadChunk.upload_id == upload_id)
                .where(UploadChunk.index == index)
                .where(UploadChunk.claim == token)
                .where(UploadChunk.state == ChunkState.writing)
            )

    def _record(
        self, upload_id: uuid.UUID, index: int, token: uuid.UUID, sha256: str | None, size: int
    ) -> None:
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            row = session.get(UploadChunk, (upload_id, index), with_for_update=True)
            if upload is None or upload.state != UploadState.open:
                raise Conflict("the upload was closed while this chunk was being written")
            if row is None or row.claim != token:
                raise _busy(index, self._settings.chunk_lease_seconds)
            row.state = ChunkState.stored
            row.sha256 = sha256
            row.size = size
            row.claim = None
            row.lease_until = None
            upload.expires_at = self._next_expiry()

    async def upload_stream(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        content_type: str | None,
        stream: AsyncIterator[bytes],
        processor: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> CompleteOut:
        """Store a whole file arriving as one stream of unknown length; the file and job.

        The stream goes through the same chunked state machine as any upload, so it is
        stored, verified and published exactly like one.
        """
        upload = await to_thread.run_sync(
            lambda: self.create(
                owner_id,
                filename=filename,
                size=None,
                content_type=content_type,
                processor=processor,
                params=params,
            )
        )
        try:
            index = 0
            async for chunk in split_stream(stream, upload.chunk_size):
                await self.put_chunk(owner_id, upload.id, index, chunk, length=None)
                index += 1
            return await to_thread.run_sync(self.complete, owner_id, upload.id)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(self.abort, owner_id, upload.id)
            raise

    # -- complete, abort, expire ------------------------------------------------------

    def complete(
        self,
        owner_id: uuid.UUID,
        upload_id: uuid.UUID,
        *,
        checksum: str | None = None,
        size: int | None = None,
    ) -> CompleteOut:
        """Turn an upload whose chunks are all stored into a file being verified.

        The job the upload asked for is queued with it and starts once the file is ready.

        Completing an already completed upload returns the same file again, so a client
        that lost the first answer can simply retry.
        """
        with self._db.write() as session:
            upload = _owned(session, owner_id, upload_id, lock=True)
            newly = upload.state != UploadState.completed
            done = self.complete_locked(session, upload, checksum=checksum, size=size)
        if newly:  # a retried complete must not verify the file a second time
            self._verifier.submit(done.file_id)
        return done

    def complete_locked(
        self,
        session: Session,
        upload: Upload,
        *,
        checksum: str | None = None,
        size: int | None = None,
    ) -> CompleteOut:
        """`complete` inside the caller's transaction, on an upload row it holds locked.

        The caller submits the file for verification (`submit_verification`) once its
        transaction has committed.
        """
        if upload.state == UploadState.completed and upload.file_id is not None:
            return CompleteOut(file_id=upload.file_id, job_id=upload.job_id)
        if upload.state != UploadState.open:
            raise Conflict(f"upload is {upload.state.value} and cannot be completed")
        if upload.offset is not None:
            _check_appended(upload, size)
        else:
            stored = dict(
                session.execute(
                    select(UploadChunk.index, UploadChunk.size)
                    .where(UploadChunk.upload_id == upload.id)
                    .where(UploadChunk.state == ChunkState.stored)
                ).all()
            )
            upload.size = self._final_size(upload, size, stored)
            _check_chunks(upload, stored)
        if checksum and upload.checksum and checksum != upload.checksum:
            raise Conflict(
                f"checksum {checksum} differs from {upload.checksum} declared at creation"
            )
        assert upload.size is not None
        file_id = uuid.uuid4()
        file = StoredFile(
            id=file_id,
            owner_id=upload.owner_id,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
            state=FileState.verifying,
            expected_checksum=checksum or upload.checksum,
            staging_key=upload.staging_key,
            storage_key=f"files/{file_id}",
            created_at=utcnow(),
        )
        session.add(file)
        session.flush()
        upload.state = UploadState.completed
        upload.file_id = file_id
        if upload.processor is not None:
            job = self._jobs.add(
                session,
                file,
                upload.processor,
                upload.params or {},
                upload_started_at=upload.created_at,
            )
            upload.job_id = job.id
        if checksum:
            upload.checksum = checksum
        return CompleteOut(file_id=file_id, job_id=upload.job_id)

    def submit_verification(self, file_id: uuid.UUID) -> None:
        """Start verifying a file that `complete_locked` created, once it is committed."""
        self._verifier.submit(file_id)

    def _final_size(self, upload: Upload, declared: int | None, stored: dict[int, int]) -> int:
        if declared is not None:
            if upload.size is not None and declared != upload.size:
                raise Conflict(f"size {declared} differs from {upload.size} declared at creation")
            if declared > self._settings.max_upload_size:
                raise TooLarge(f"{declared} bytes is more than this server accepts")
            return declared
        if upload.size is not None:
            return upload.size
        if not stored:
            return 0
        last = max(stored)
        return last * upload.chunk_size + stored[last]

    def abort(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Give up an open upload and reclaim its space; aborting twice is harmless."""
        with self._db.write() as session:
            upload = _owned(session, owner_id, upload_id, lock=True)
            if upload.state == UploadState.completed:
                raise Conflict("upload is completed; delete the file instead")
            if upload.state == UploadState.open:
                upload.state = UploadState.aborted
                session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
            staging_key = upload.staging_key
        self._store.delete(staging_key)

    def expire(self, now: datetime | None = None, batch: int = 100) -> int:
        """Expire open uploads idle past their expiry and reclaim their space; how many."""
        now = now or utcnow()
        with self._db.write() as session:
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
            self._store.delete(key)
        if keys:
            log.info("expired %d idle uploads", len(keys))
        return len(keys)

    # -- helpers ---------------------------------------------------------------------

    def _next_expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self._settings.upload_expiry_seconds)

    def _check_free_space(self, size: int) -> None:
        free = self._store.free_space()
        if free is not None and free - size < self._settings.min_free_bytes:
            raise InsufficientStorage(
                f"the store has {free} bytes free; {size} more would leave less than the "
                f"{self._settings.min_free_bytes} bytes it keeps in reserve"
            )


def _owned(
    session: Session, owner_id: uuid.UUID, upload_id: uuid.UUID, *, lock: bool = False
) -> Upload:
    upload = session.get(Upload, upload_id, with_for_update=lock)
    if upload is None or upload.owner_id != owner_id:
        raise NotFound(f"no upload {upload_id}")
    return upload


def _busy(index: int, retry_after: float) -> Conflict:
    seconds = max(1, int(retry_after + 0.999))
    return Conflict(
        f"chunk {index} is being written by another request; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _check_length(claim: _Claim, received: int) -> None:
    if received == 0 or (claim.exact_length and received != claim.max_length):
        expected = claim.max_length if claim.exact_length else f"1 to {claim.max_length}"
        raise BadRequest(f"the body had {received} bytes; this chunk takes {expected}")


def _check_appended(upload: Upload, declared: int | None) -> None:
    assert upload.offset is not None
    if declared is not None and upload.size is not None and declared != upload.size:
        raise Conflict(f"size {declared} differs from {upload.size} declared at creation")
    size = upload.size if upload.size is not None else declared
    if size is None:
        raise Conflict("the upload's length is not declared yet")
    if upload.offset != size:
        raise Conflict(f"{upload.offset} of {size} bytes have arrived")
    upload.size = size


def _check_chunks(upload: Upload, stored: dict[int, int]) -> None:
    assert upload.size is not None
    count = chunk_count(upload.size, upload.chunk_size)
    missing = [i for i in range(count) if i not in stored]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        raise Conflict(
            f"{len(missing)} of {count} chunks are missing: {shown}",
            extra={"missing": missing[:10_000], "missing_count": len(missing)},
        )
    wrong = [
        i
        for i, size in stored.items()
        if i >= count or size != min(upload.chunk_size, upload.size - i * upload.chunk_size)
    ]
    if wrong:
        raise Conflict(
            f"chunks {wrong[:20]} do not fit a file of {upload.size} bytes in chunks of "
            f"{upload.chunk_size}",
            extra={"wrong": wrong[:10_000]},
        )


def _view(upload: Upload, received: list[tuple[int, int]]) -> UploadOut:
    return UploadOut(
        id=upload.id,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        chunk_size=upload.chunk_size,
        # In-order (tus) uploads have no chunks: only bytes_received says how far they are.
        chunk_count=chunk_count(upload.size, upload.chunk_size)
        if upload.size is not None and upload.offset is None
        else None,
        received=[index for index, _ in received],
        bytes_received=upload.offset
        if upload.offset is not None
        else sum(size for _, size in received),
        state=upload.state,
        checksum=upload.checksum,
        processor=upload.processor,
        params=upload.params,
        expires_at=upload.expires_at,
        created_at=upload.created_at,
        file_id=upload.file_id,
        job_id=upload.job_id,
    )
