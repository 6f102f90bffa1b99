"""The upload core on its own: chunks, appends, completion and the digest check of every
range, against an in-memory store, with the lease rules a server relies on."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future

import pytest

from lfp.bootstrap import Services
from lfp.errors import Busy, DigestMismatch, MissingChunks, OffsetMismatch, Superseded
from lfp.files.models import FileState
from lfp.storage import MemoryBlobStore
from lfp.uploads.appends import AppendRequest
from lfp.uploads.lifecycle import Description, ProtocolFields
from lfp.uploads.models import UploadChunk, UploadState
from lfp.uploads.schemas import UploadOut
from tests.unit.uploads.conftest import new_user

KiB = 1024
MiB = 1024 * KiB
CHUNK = 2 * MiB  # two write blocks: a lease is checked before each


async def body(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def blocks(data: bytes, size: int = MiB) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def create(services: Services, owner: uuid.UUID, size: int) -> UploadOut:
    return services.uploads.create(
        owner,
        Description(filename="data.bin"),
        size=size,
        chunk_size=CHUNK,
        protocol=ProtocolFields(min_chunk_size=64 * KiB),
    )


def put(services: Services, owner: uuid.UUID, upload: UploadOut, index: int, data: bytes) -> bool:
    return asyncio.run(
        services.chunks.put_chunk(owner, upload.id, index, body(blocks(data)), length=len(data))
    )


def settle(
    services: Services, owner: uuid.UUID, file_id: uuid.UUID
) -> tuple[FileState, str | None]:
    """The file's state once its verification (started by the commit) has ended."""
    running: Future[None] | None = services.verifier.in_progress(file_id)
    if running is not None:
        running.result(timeout=60)
    file = services.files.get(owner, file_id)
    return file.state, file.error


def content(services: Services, owner: uuid.UUID, file_id: uuid.UUID) -> bytes:
    file = services.files.ready(owner, file_id)
    return b"".join(services.files.read(file, 0, file.size))


DATA = bytes(range(256)) * (5 * MiB // 256) + b"tail"  # three chunks, the last short


def test_chunks_in_any_order_become_a_ready_file_with_its_digests(
    services: Services, owner: uuid.UUID
) -> None:
    upload = create(services, owner, len(DATA))
    for index in (2, 0, 1):
        assert put(services, owner, upload, index, DATA[index * CHUNK : (index + 1) * CHUNK])
    done = services.uploads.complete(owner, upload.id)
    assert settle(services, owner, done.file_id) == (FileState.ready, None)
    file = services.files.get(owner, done.file_id)
    assert file.sha256 == hashlib.sha256(DATA).hexdigest()
    assert content(services, owner, done.file_id) == DATA


def test_every_stored_chunk_has_the_servers_own_digest(
    services: Services, owner: uuid.UUID
) -> None:
    upload = create(services, owner, len(DATA))
    put(services, owner, upload, 1, DATA[CHUNK : 2 * CHUNK])  # no Content-Digest sent
    with services.db.read() as session:
        row = session.get(UploadChunk, (upload.id, 1))
        assert row is not None
        assert row.sha256 == hashlib.sha256(DATA[CHUNK : 2 * CHUNK]).hexdigest()
        assert row.start == CHUNK


def test_a_digest_mismatch_records_nothing(services: Services, owner: uuid.UUID) -> None:
    upload = create(services, owner, len(DATA))
    chunk = DATA[:CHUNK]
    wrong = hashlib.sha256(b"other").digest()
    with pytest.raises(DigestMismatch):
        asyncio.run(
            services.chunks.put_chunk(
                owner, upload.id, 0, body([chunk]), length=len(chunk), expected_sha256=wrong
            )
        )
    assert services.uploads.get(owner, upload.id).received == []


def test_a_damaged_chunk_is_caught_before_publishing_and_asked_for_again(
    services: Services, owner: uuid.UUID, store: MemoryBlobStore
) -> None:
    upload = create(services, owner, len(DATA))
    for index in range(3):
        put(services, owner, upload, index, DATA[index * CHUNK : (index + 1) * CHUNK])
    # Bytes change behind the service's back (a writer that lost its lease, a lying disk).
    store.overwrite(f"uploads/{upload.id}", CHUNK + 10, b"XXXX")
    done = services.uploads.complete(owner, upload.id)
    state, error = settle(services, owner, done.file_id)
    assert state == FileState.failed and error is not None and "chunks 1 " in error
    reopened = services.uploads.get(owner, upload.id)
    assert (reopened.state, reopened.received, reopened.file_id) == (UploadState.open, [0, 2], None)
    with pytest.raises(MissingChunks) as missing:
        services.uploads.complete(owner, upload.id)
    assert missing.value.missing == [1]
    put(services, owner, upload, 1, DATA[CHUNK : 2 * CHUNK])
    again = services.uploads.complete(owner, upload.id)
    assert settle(services, owner, again.file_id) == (FileState.ready, None)
    assert content(services, owner, again.file_id) == DATA


def test_a_writer_that_lost_its_chunk_stops_before_its_next_write(
    make_services: Callable[..., Services],
) -> None:
    # A lease so short that every write must renew it first, as a writer waking up after a
    # stall longer than its lease must; the retry below may then take the chunk over.
    services = make_services(chunk_lease_seconds=1e-6)
    owner = new_user(services)
    upload = create(services, owner, len(DATA))
    stale = b"S" * CHUNK
    fresh = DATA[:CHUNK]

    async def stale_body() -> AsyncIterator[bytes]:
        yield stale[:MiB]
        # The client goes silent past the lease; its retry takes the chunk and stores it.
        assert await services.chunks.put_chunk(owner, upload.id, 0, body([fresh]), length=CHUNK)
        yield stale[MiB:]

    async def stale_writer() -> None:
        await services.chunks.put_chunk(owner, upload.id, 0, stale_body(), length=CHUNK)

    with pytest.raises(Superseded):
        asyncio.run(stale_writer())
    for index in (1, 2):
        put(services, owner, upload, index, DATA[index * CHUNK : (index + 1) * CHUNK])
    done = services.uploads.complete(owner, upload.id)
    assert settle(services, owner, done.file_id) == (FileState.ready, None)
    assert content(services, owner, done.file_id) == DATA


def test_a_live_claim_makes_a_second_writer_wait(services: Services, owner: uuid.UUID) -> None:
    upload = create(services, owner, len(DATA))

    async def first_body() -> AsyncIterator[bytes]:
        yield DATA[:MiB]
        with pytest.raises(Busy) as busy:
            await services.chunks.put_chunk(owner, upload.id, 0, body([DATA[:CHUNK]]), length=None)
        assert busy.value.retry_after >= 1
        yield DATA[MiB:CHUNK]

    assert asyncio.run(services.chunks.put_chunk(owner, upload.id, 0, first_body(), length=CHUNK))


APPENDED = DATA[: 3 * MiB + 5]


def append(
    services: Services, owner: uuid.UUID, upload_id: uuid.UUID, offset: int, data: bytes
) -> int:
    request = AppendRequest(owner, upload_id, offset, length=len(data))
    return asyncio.run(services.appends.append(request, body(blocks(data)))).offset


def test_appends_in_order_complete_with_the_last_byte(services: Services, owner: uuid.UUID) -> None:
    upload = services.appends.create(owner, Description(filename="t.bin"), size=len(APPENDED))
    assert append(services, owner, upload.id, 0, APPENDED[:MiB]) == MiB
    with pytest.raises(OffsetMismatch) as mismatch:
        append(services, owner, upload.id, 0, APPENDED[:MiB])
    assert (mismatch.value.expected, mismatch.value.sent) == (MiB, 0)
    assert append(services, owner, upload.id, MiB, APPENDED[MiB:]) == len(APPENDED)
    file_id = services.appends.get(owner, upload.id).file_id
    assert file_id is not None
    assert settle(services, owner, file_id) == (FileState.ready, None)
    assert content(services, owner, file_id) == APPENDED


def test_a_damaged_append_rewinds_the_upload_to_where_the_damage_starts(
    services: Services, owner: uuid.UUID, store: MemoryBlobStore
) -> None:
    upload = services.appends.create(owner, Description(filename="t.bin"), size=len(APPENDED))
    append(services, owner, upload.id, 0, APPENDED[:MiB])
    append(services, owner, upload.id, MiB, APPENDED[MiB : 2 * MiB])
    store.overwrite(f"uploads/{upload.id}", MiB + 1, b"!")
    append(services, owner, upload.id, 2 * MiB, APPENDED[2 * MiB :])
    file_id = services.appends.get(owner, upload.id).file_id
    assert file_id is not None
    state, error = settle(services, owner, file_id)
    assert state == FileState.failed and error is not None and f"offset {MiB}" in error
    reopened = services.appends.get(owner, upload.id)
    assert (reopened.state, reopened.offset, reopened.file_id) == (UploadState.open, MiB, None)
    assert append(services, owner, upload.id, MiB, APPENDED[MiB:]) == len(APPENDED)
    again = services.appends.get(owner, upload.id).file_id
    assert again is not None and settle(services, owner, again) == (FileState.ready, None)
    assert content(services, owner, again) == APPENDED
