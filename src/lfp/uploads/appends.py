"""In-order uploads (what tus speaks): create, append at the offset, report, terminate.

The same uploads as the chunked ones, with the same states, verification and jobs: an
in-order upload keeps one `offset` instead of indexed chunks, records each append's range
with the sha-256 of the bytes written, and completes in the very transaction that records
its last byte. Appends to one upload are serialised by a lease on its row; a newer append
asks the holder to stop, so a client resuming after a lost connection need not wait.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import anyio
from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lfp.db.leases import Heartbeat, LeaseColumns, LeaseLost, LeaseState
from lfp.digests import Hasher
from lfp.errors import (
    BodyCut,
    Busy,
    Conflict,
    DigestMismatch,
    Forbidden,
    Gone,
    InsufficientStorage,
    LfpError,
    NotFound,
    OffsetMismatch,
    Superseded,
    TooLarge,
)
from lfp.storage import PartWriter
from lfp.uploads.body import BodyTarget, Written, write_body
from lfp.uploads.lifecycle import Description, ProtocolFields, owned
from lfp.uploads.models import ChunkState, ConcatRole, Upload, UploadChunk, UploadState
from lfp.uploads.quota import check_declared, stream_room
from lfp.uploads.rules import declare_size
from lfp.uploads.views import InOrderUpload, in_order_view
from lfp.uploads.writer import UploadWriter

log = logging.getLogger(__name__)

APPEND_LEASE = LeaseColumns(
    Upload, holder="append_claim", until="append_lease_until", stop="append_stop"
)
# How long an append waits for the append holding the upload to stop (which it does within
# a second of being asked) before it gives up: only a hung or dead holder takes longer.
LOCK_WAIT_SECONDS = 3.0
LOCK_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class BodyChecksum:
    """A digest the client sent for one request body, and its algorithm (hashlib's name)."""

    algorithm: str
    digest: bytes


@dataclass(frozen=True)
class AppendRequest:
    """What an append asks for: `length` bytes (if declared) at `offset` of an upload."""

    owner_id: uuid.UUID
    upload_id: uuid.UUID
    offset: int
    length: int | None = None
    declared_size: int | None = None
    checksum: BodyChecksum | None = None


@dataclass(frozen=True)
class _Held:
    staging_key: str
    offset: int
    max_length: int
    token: uuid.UUID
    # Raised when the body runs past `max_length`, if the owner's quota bounds it.
    quota: InsufficientStorage | None = None


def owned_in_order(
    session: Session, owner_id: uuid.UUID, upload_id: uuid.UUID, *, lock: bool = False
) -> Upload:
    """The owner's in-order upload; `NotFound` for another's or for a chunked one."""
    upload = owned(session, owner_id, upload_id, lock=lock)
    if upload.offset is None:
        raise NotFound(f"upload {upload_id} takes indexed chunks, not appends in order")
    return upload


def check_alive(upload: Upload) -> None:
    """`Gone` once the upload was terminated, expired or joined into another."""
    if upload.state in (UploadState.aborted, UploadState.expired):
        raise Gone(f"upload {upload.id} was {upload.state.value}; start a new one")
    if upload.state == UploadState.concatenated:
        raise Gone(f"partial upload {upload.id} was joined into a final upload")


class AppendReceiver(UploadWriter):
    """Creates in-order uploads and appends request bodies to them."""

    LEASE = APPEND_LEASE

    # -- create, read, terminate -------------------------------------------------------

    def create(
        self,
        owner_id: uuid.UUID,
        described: Description,
        *,
        size: int | None,
        concat: ConcatRole | None = None,
        parts: list[uuid.UUID] | None = None,
    ) -> InOrderUpload:
        """Start an in-order upload of `size` bytes (None: declared by a later append)."""
        protocol = ProtocolFields(
            in_order=True,
            concat=concat,
            parts=[str(part) for part in parts] if parts is not None else None,
        )
        created = self._lifecycle.create(owner_id, described, size=size, protocol=protocol)
        if size == 0 and concat is None:
            # An empty file is complete as soon as it exists.
            with self._db.write() as session:
                upload = owned_in_order(session, owner_id, created.id, lock=True)
                self._lifecycle.complete_locked(session, upload)
        return self.get(owner_id, created.id)

    def get(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> InOrderUpload:
        """The upload as its client sees it; `Gone` once it was terminated or expired."""
        with self._db.read() as session:
            upload = owned_in_order(session, owner_id, upload_id)
            check_alive(upload)
            return in_order_view(upload)

    def terminate(self, owner_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Give the upload up and reclaim its space."""
        with self._db.read() as session:
            owned_in_order(session, owner_id, upload_id)
        self._lifecycle.abort(owner_id, upload_id)

    # -- append ----------------------------------------------------------------------

    async def append(self, request: AppendRequest, body: AsyncIterator[bytes]) -> InOrderUpload:
        """Append `body` at the request's offset, which must be where the upload stands.

        With a checksum nothing is kept unless the whole body arrived and matched; without
        one, a body cut off midway keeps the bytes that arrived (`BodyCut` is raised after
        they are recorded), so the client resumes from there. A newer append to the same
        upload stops this one the same way (`Superseded`).
        """
        body = self._metrics.counting(body)
        held = await self._acquire(request)
        release = functools.partial(self._lease.release, request.upload_id, held.token)
        try:
            writer = await to_thread.run_sync(
                self._store.open_append, held.staging_key, held.offset, held.max_length
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(release)
            raise
        sha256 = hashlib.sha256()
        check = hashlib.new(request.checksum.algorithm) if request.checksum else None
        hashers: tuple[Hasher, ...] = (sha256,) if check is None else (sha256, check)
        target = BodyTarget(writer, held.max_length, functools.partial(_too_long, held), hashers)
        written = Written()
        keep = functools.partial(self._keep, writer, request.upload_id, held.token, sha256)
        try:
            stopped = await self._stream(request.upload_id, held, body, target, written)
            if stopped is None:
                _check_digest(request.checksum, check)
                await to_thread.run_sync(writer.commit)
        except BodyCut as cut:
            with anyio.CancelScope(shield=True):
                if check is None and cut.received > 0:
                    await keep(cut.received)
                else:
                    await _discard(writer, release)
            raise
        except BaseException:
            with anyio.CancelScope(shield=True):
                await _discard(writer, release)
            raise
        if stopped is not None:
            kept = written.count if stopped is LeaseState.asked_to_stop and check is None else 0
            with anyio.CancelScope(shield=True):
                await (keep(kept) if kept else _discard(writer, release))
            raise _superseded(stopped, kept)
        record = functools.partial(
            self._record, request.upload_id, held.token, written.count, sha256.hexdigest()
        )
        return await to_thread.run_sync(record)

    async def _stream(
        self,
        upload_id: uuid.UUID,
        held: _Held,
        body: AsyncIterator[bytes],
        target: BodyTarget,
        written: Written,
    ) -> LeaseState | None:
        """Write the body while a heartbeat keeps the lease; why it stopped early, if it did."""
        loop = asyncio.get_running_loop()
        with anyio.CancelScope() as holding:
            heartbeat = Heartbeat(
                self._lease,
                upload_id,
                held.token,
                interval=min(1.0, self._lease.seconds / 3),
                on_stop=lambda _state: _call_soon(loop, holding.cancel),
            ).start()
            guarded = replace(target, guard=heartbeat.check)
            try:
                await write_body(body, guarded, written)
            except LeaseLost:
                pass
            finally:
                with anyio.CancelScope(shield=True):
                    await to_thread.run_sync(heartbeat.stop)
        return None if heartbeat.state is LeaseState.held else heartbeat.state

    async def _keep(
        self, writer: PartWriter, upload_id: uuid.UUID, token: uuid.UUID, sha256: Hasher, size: int
    ) -> InOrderUpload:
        """Make the `size` bytes written durable and record them; the upload's new state."""
        await to_thread.run_sync(writer.commit)
        record = functools.partial(self._record, upload_id, token, size, sha256.hexdigest())
        return await to_thread.run_sync(record)

    async def _acquire(self, request: AppendRequest) -> _Held:
        """The append lease on the upload; a holder still appending is asked to stop first."""
        deadline = anyio.current_time() + LOCK_WAIT_SECONDS
        while True:
            held = await to_thread.run_sync(self._take, request)
            if isinstance(held, _Held):
                return held
            if anyio.current_time() >= deadline:
                # The holder did not let go: its server is hung or dead, and its lease
                # lapses at the latest `held` seconds from now.
                raise Busy(
                    "another request is appending to this upload and did not stop",
                    retry_after=held,
                )
            await anyio.sleep(LOCK_POLL_SECONDS)

    def _take(self, request: AppendRequest) -> _Held | float:
        """The lease, or the seconds the live holder (now asked to stop) still has."""
        with self._db.write() as session:
            upload = owned_in_order(session, request.owner_id, request.upload_id, lock=True)
            check_alive(upload)
            if upload.concat == ConcatRole.final:
                raise Forbidden("a final (concatenated) upload takes no appends")
            if upload.state != UploadState.open:
                raise Conflict(f"upload is {upload.state.value}, it takes no more bytes")
            remaining = self._lease.remaining(upload)
            if remaining is not None:
                # Committed with this transaction: the holder sees it at its next heartbeat.
                self._lease.ask_to_stop(upload)
                return remaining
            assert upload.offset is not None
            if request.offset != upload.offset:
                raise OffsetMismatch(
                    f"offset {request.offset} is not where the upload stands ({upload.offset}); "
                    "resume from there",
                    expected=upload.offset,
                    sent=request.offset,
                )
            if request.declared_size is not None:
                deferred = upload.size is None
                declare_size(self._settings, upload, request.declared_size)
                if deferred:
                    check_declared(session, self._settings, upload)
            end = upload.size if upload.size is not None else self._settings.max_upload_size
            max_length = end - upload.offset
            room = None
            if upload.size is None:
                room = stream_room(session, self._settings, upload, upload.offset, request.length)
                max_length = min(max_length, room.size) if room else max_length
            if request.length is not None and request.length > max_length:
                raise TooLarge(
                    f"a body of {request.length} bytes at offset {upload.offset} runs past the "
                    f"upload's end ({end} bytes)"
                )
            token = self._lease.take(upload)
            quota = room.refusal if room and room.size < end - upload.offset else None
            return _Held(upload.staging_key, upload.offset, max_length, token, quota)

    def _record(
        self, upload_id: uuid.UUID, token: uuid.UUID, size: int, sha256: str
    ) -> InOrderUpload:
        """Record an append of `size` bytes and release the lease; complete at the end."""
        with self._db.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            if upload is None or upload.state != UploadState.open:
                raise Conflict("the upload was closed while this body was being written")
            if not self._lease.holds(upload, token):
                raise Superseded("this request lost its hold on the upload (it went silent)")
            assert upload.offset is not None
            if size:
                session.add(_range_row(session, upload, size, sha256))
            upload.offset += size
            self._lease.clear(upload)
            upload.expires_at = self._lifecycle.next_expiry()
            if upload.offset == upload.size and upload.concat is None:
                self._lifecycle.complete_locked(session, upload)
            return in_order_view(upload)


def _range_row(session: Session, upload: Upload, size: int, sha256: str) -> UploadChunk:
    """The record of one append: where it starts, how long it is, its bytes' sha-256."""
    last = session.scalar(
        select(func.max(UploadChunk.index)).where(UploadChunk.upload_id == upload.id)
    )
    return UploadChunk(
        upload_id=upload.id,
        index=0 if last is None else last + 1,
        start=upload.offset,
        size=size,
        state=ChunkState.stored,
        sha256=sha256,
    )


def _call_soon(loop: asyncio.AbstractEventLoop, action: Callable[[], object]) -> None:
    loop.call_soon_threadsafe(action)


async def _discard(writer: PartWriter, release: functools.partial[bool]) -> None:
    """Drop what this request wrote and its lease, never raising over the request's error:
    the database may be unwritable (a full disk), and the lease then lapses on its own."""
    await to_thread.run_sync(writer.abort)
    try:
        await to_thread.run_sync(release)
    except Exception:
        log.warning("could not release an append lease", exc_info=True)


def _check_digest(checksum: BodyChecksum | None, hasher: hashlib._Hash | None) -> None:
    if checksum is None or hasher is None:
        return
    if hasher.digest() != checksum.digest:
        raise DigestMismatch(
            f"the body's {checksum.algorithm} does not match the checksum sent with it; "
            "nothing was appended",
            algorithm=checksum.algorithm,
        )


def _too_long(held: _Held) -> LfpError:
    if held.quota is not None:
        return held.quota
    return TooLarge(f"the body runs past the upload's end ({held.max_length} bytes were left)")


def _superseded(state: LeaseState, kept: int) -> Superseded:
    if state is LeaseState.lost:
        return Superseded(
            "this request lost its hold on the upload (the server could not renew it); "
            "nothing was kept"
        )
    what = f"the {kept} bytes that had arrived were kept" if kept else "nothing was kept"
    return Superseded(f"another request for this upload arrived, so this one stopped; {what}")
