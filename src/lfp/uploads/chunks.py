"""Indexed chunks: a request claims chunk i, streams it to its offset, and records it.

Chunk i covers `[i * chunk_size, min((i + 1) * chunk_size, size))`. A chunk is recorded
only once all its bytes are stored, its length is right and any digest the client sent
matched; the server's own sha-256 of the bytes it wrote is recorded with it, so that the
verification pass can prove the stored bytes are the acknowledged ones.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import anyio
from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.leases import Heartbeat, LeaseColumns, LeaseLost
from lfp.errors import (
    BadRequest,
    Busy,
    Conflict,
    DigestMismatch,
    InsufficientStorage,
    Superseded,
)
from lfp.uploads.body import BodyTarget, write_body
from lfp.uploads.lifecycle import Description, owned
from lfp.uploads.models import ChunkState, Upload, UploadChunk, UploadState
from lfp.uploads.quota import stream_room
from lfp.uploads.rules import chunk_bounds
from lfp.uploads.schemas import CompleteOut
from lfp.uploads.streams import split_stream
from lfp.uploads.writer import UploadWriter

log = logging.getLogger(__name__)

CHUNK_LEASE = LeaseColumns(UploadChunk, holder="claim", until="lease_until")
# A chunk's row: its upload and its index.
ChunkKey = tuple[uuid.UUID, int]


@dataclass(frozen=True)
class ChunkClaim:
    """A chunk reserved for one request (its lease `token`), or found already stored."""

    staging_key: str
    offset: int
    max_length: int
    exact_length: bool
    token: uuid.UUID | None = None
    stored_sha256: str | None = None
    # Raised when the body runs past `max_length`, if the owner's quota bounds it.
    quota: InsufficientStorage | None = None

    @property
    def stored(self) -> bool:
        """Whether the chunk was stored before this request came."""
        return self.token is None


class ChunkReceiver(UploadWriter):
    """Receives indexed chunks into open uploads, in any order and in parallel."""

    LEASE = CHUNK_LEASE

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
        body = self._metrics.counting(body)
        with self._metrics.chunk_refusals():
            claim = await to_thread.run_sync(self._claim, owner_id, upload_id, index, length)
            if claim.stored:
                await self._compare_resent(claim, (upload_id, index), body, expected_sha256)
                return False
            sha256 = await self._write(claim, (upload_id, index), body, expected_sha256)
            assert claim.token is not None
            record = functools.partial(self._record, upload_id, index, claim.token, sha256)
            await to_thread.run_sync(record)
        self._metrics.chunks_stored.inc()
        return True

    async def _write(
        self, claim: ChunkClaim, key: ChunkKey, body: AsyncIterator[bytes], expected: bytes | None
    ) -> tuple[str, int]:
        """Stream the claimed chunk to storage; its sha-256 and length, once durable."""
        assert claim.token is not None
        index = key[1]
        writer = await to_thread.run_sync(
            self._store.open_part, claim.staging_key, index, claim.offset, claim.max_length
        )
        # Renewed only while bytes flow: a request whose client went silent loses the
        # chunk to the client's retry, and then stops before its next write.
        heartbeat = Heartbeat(
            self._lease, key, claim.token, interval=self._lease.seconds / 3, idle_renews=False
        ).start()
        hasher = hashlib.sha256()
        target = BodyTarget(
            writer,
            claim.max_length,
            lambda: (
                claim.quota
                or BadRequest(f"chunk {index} is longer than its {claim.max_length} bytes")
            ),
            hashers=(hasher,),
            guard=heartbeat.check,
        )
        try:
            received = await write_body(body, target)
            _check_bytes(claim, received, hasher, expected)
            await to_thread.run_sync(writer.commit)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(heartbeat.stop)
                await to_thread.run_sync(writer.abort)
                await to_thread.run_sync(self._release, key, claim.token)
            if isinstance(exc, LeaseLost):
                raise _lost(index) from None
            raise
        await to_thread.run_sync(heartbeat.stop)
        return hasher.hexdigest(), received

    async def _compare_resent(
        self, claim: ChunkClaim, key: ChunkKey, body: AsyncIterator[bytes], expected: bytes | None
    ) -> None:
        """A stored chunk sent again: the same bytes are a no-op, others a `Conflict`."""
        digest = hashlib.sha256()
        received = 0
        async for piece in body:
            received += len(piece)
            if received > claim.max_length:
                raise BadRequest(f"body is longer than the chunk's {claim.max_length} bytes")
            digest.update(piece)
        _check_bytes(claim, received, digest, expected)
        stored = claim.stored_sha256 or await to_thread.run_sync(self._digest_stored, claim, key)
        if digest.hexdigest() != stored:
            raise Conflict("this chunk is already stored with different bytes")

    def _digest_stored(self, claim: ChunkClaim, key: ChunkKey) -> str:
        """The sha256 of a chunk stored before digests were always kept, read back once."""
        hasher = hashlib.sha256()
        end = claim.offset + claim.max_length
        for block in self._store.read(claim.staging_key, claim.offset, end):
            hasher.update(block)
        with self._db.write() as session:
            row = session.get(UploadChunk, key, with_for_update=True)
            if row is not None and row.state == ChunkState.stored:
                row.sha256 = hasher.hexdigest()
        return hasher.hexdigest()

    def _claim(
        self, owner_id: uuid.UUID, upload_id: uuid.UUID, index: int, length: int | None
    ) -> ChunkClaim:
        with self._db.write() as session:
            upload = owned(session, owner_id, upload_id, lock=True)
            if upload.state != UploadState.open:
                raise Conflict(f"upload is {upload.state.value}, it takes no more chunks")
            if upload.offset is not None:
                raise Conflict("this upload is written in order (tus); it takes no indexed chunks")
            max_length, exact = chunk_bounds(self._settings, upload, index)
            if length is not None and (length > max_length or (exact and length != max_length)):
                expected = f"{max_length}" if exact else f"at most {max_length}"
                raise BadRequest(f"chunk {index} must be {expected} bytes, not {length}")
            claim = ChunkClaim(upload.staging_key, index * upload.chunk_size, max_length, exact)
            claim = self._reserve(session, upload, index, claim)
            if upload.size is None and claim.token is not None:
                claim = _within_quota(session, self._settings, upload, index, claim, length)
            return claim

    def _reserve(
        self, session: Session, upload: Upload, index: int, claim: ChunkClaim
    ) -> ChunkClaim:
        """Lease chunk `index` to this request, unless it is stored or another holds it."""
        now = utcnow()
        row = session.get(UploadChunk, (upload.id, index), with_for_update=True)
        if row is None:
            row = UploadChunk(
                upload_id=upload.id,
                index=index,
                start=claim.offset,
                size=claim.max_length,
                state=ChunkState.writing,
            )
            token = self._lease.take(row, now)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                raise _busy(index, self._lease.seconds) from None
            return replace(claim, token=token)
        if row.state == ChunkState.stored:
            return ChunkClaim(
                claim.staging_key, claim.offset, row.size, True, stored_sha256=row.sha256
            )
        remaining = self._lease.remaining(row, now)
        if remaining is not None:
            raise _busy(index, remaining)
        # The request that held this chunk went silent (say its server died): take over.
        return replace(claim, token=self._lease.take(row, now))

    def _release(self, key: ChunkKey, token: uuid.UUID) -> None:
        """Give up the chunk this request failed to store; never raises over its error.

        The database may be unwritable at that moment (a full disk); the lease then lapses
        on its own and a retry takes the chunk over.
        """

        def drop_unstored(session: Session, row: Any) -> None:
            if row.state == ChunkState.writing:
                session.delete(row)

        try:
            self._lease.release(key, token, then=drop_unstored)
        except Exception:
            log.warning("could not release chunk %d of upload %s", key[1], key[0], exc_info=True)

    def _record(
        self, upload_id: uuid.UUID, index: int, token: uuid.UUID, written: tuple[str, int]
    ) -> None:
        sha256, size = written
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            row = session.get(UploadChunk, (upload_id, index), with_for_update=True)
            if upload is None or upload.state != UploadState.open:
                raise Conflict("the upload was closed while this chunk was being written")
            if not self._lease.holds(row, token):
                raise _lost(index)
            assert row is not None
            row.state = ChunkState.stored
            row.sha256 = sha256
            row.size = size
            self._lease.clear(row)
            upload.expires_at = self._lifecycle.next_expiry()

    async def upload_stream(
        self,
        owner_id: uuid.UUID,
        described: Description,
        stream: AsyncIterator[bytes],
    ) -> CompleteOut:
        """Store a whole file arriving as one stream of unknown length; the file and job.

        The stream goes through the same chunks as any upload, so it is stored, verified
        and published exactly like one.
        """
        lifecycle = self._lifecycle
        upload = await to_thread.run_sync(lambda: lifecycle.create(owner_id, described, size=None))
        try:
            index = 0
            async for chunk in split_stream(stream, upload.chunk_size):
                await self.put_chunk(owner_id, upload.id, index, chunk, length=None)
                index += 1
            return await to_thread.run_sync(lifecycle.complete, owner_id, upload.id)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(lifecycle.discard, owner_id, upload.id)
            raise


def _within_quota(
    session: Session,
    settings: Settings,
    upload: Upload,
    index: int,
    claim: ChunkClaim,
    length: int | None,
) -> ChunkClaim:
    """A claimed chunk of an upload of undeclared size, bounded by the owner's quota; the
    chunk's row reserves that bound until its bytes are recorded."""
    own = session.scalar(
        select(func.coalesce(func.sum(UploadChunk.size), 0))
        .where(UploadChunk.upload_id == upload.id)
        .where(UploadChunk.index != index)
    )
    room = stream_room(session, settings, upload, int(own or 0), length)
    if room is None or room.size >= claim.max_length:
        return claim
    row = session.get(UploadChunk, (upload.id, index))
    assert row is not None
    row.size = room.size
    return replace(claim, max_length=room.size, quota=room.refusal)


def _busy(index: int, retry_after: float) -> Busy:
    return Busy(f"chunk {index} is being written by another request", retry_after=retry_after)


def _lost(index: int) -> Superseded:
    return Superseded(
        f"this request lost its hold on chunk {index} (it was silent longer than its lease "
        "and another request took the chunk); nothing it wrote was kept"
    )


def _check_bytes(
    claim: ChunkClaim, received: int, hasher: hashlib._Hash, expected: bytes | None
) -> None:
    """Refuse a body of the wrong length, or whose bytes do not match the client's digest."""
    if received == 0 or (claim.exact_length and received != claim.max_length):
        takes = claim.max_length if claim.exact_length else f"1 to {claim.max_length}"
        raise BadRequest(f"the body had {received} bytes; this chunk takes {takes}")
    if expected is not None and hasher.digest() != expected:
        raise DigestMismatch(
            "the chunk's bytes do not match the digest sent with them", algorithm="sha-256"
        )
