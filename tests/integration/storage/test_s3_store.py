"""The S3 store against a real S3 endpoint (moto's server mode): parts, pieces, appends,
server-side concatenation, publishing, ranged reads and clean deletes."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from lfp.storage import StorageError
from lfp.storage.s3 import S3BlobStore
from tests.s3 import MotoServer

MiB = 1 << 20
PART = 5 * MiB  # S3's smallest part but the last


@pytest.fixture
def store(moto: MotoServer, tmp_path: Path) -> S3BlobStore:
    """A store on a new bucket, under a prefix."""
    return S3BlobStore(
        moto.new_bucket(), "some/prefix", endpoint_url=moto.url, spool_dir=tmp_path / "spool"
    )


def data_of(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def content(store: S3BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def put_chunks(store: S3BlobStore, ref: str, data: bytes, chunk: int, order: Sequence[int]) -> None:
    for index in order:
        piece = data[index * chunk : (index + 1) * chunk]
        writer = store.open_part(ref, index, index * chunk, len(piece))
        writer.write([piece[: len(piece) // 2], piece[len(piece) // 2 :]])
        writer.commit()


def objects(store: S3BlobStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_chunks_become_parts_and_the_small_last_one_joins_at_publish(store: S3BlobStore) -> None:
    data = data_of(3 * PART + MiB)
    ref = store.create_staging("uploads/a", len(data), PART)
    put_chunks(store, ref, data, PART, [3, 1, 0, 2, 1])  # out of order, one sent twice
    key = store.final_key(ref, "files/ignored")
    assert key == "uploads/a"
    store.publish(ref, key, len(data))
    assert content(store, key) == data
    assert content(store, key, PART - 3, PART + 5) == data[PART - 3 : PART + 5]
    assert objects(store) == ["some/prefix/uploads/a"]  # no piece left behind
    store.publish(ref, key, len(data))  # again (another verifier): harmless


def test_chunks_smaller_than_a_part_are_joined_into_parts(store: S3BlobStore) -> None:
    data = data_of(12 * MiB + 7, seed=2)
    ref = store.create_staging("uploads/dz", len(data), MiB)
    count = -(-len(data) // MiB)
    put_chunks(store, ref, data, MiB, list(reversed(range(count))))
    store.publish(ref, "uploads/dz", len(data))
    assert content(store, "uploads/dz") == data
    assert objects(store) == ["some/prefix/uploads/dz"]


def test_appends_of_any_size_fill_parts_and_keep_the_tail_as_a_piece(
    store: S3BlobStore,
) -> None:
    data = data_of(2 * PART + 3 * MiB, seed=3)
    ref = store.create_staging("uploads/tus", None)
    offset = 0
    for length in [10, MiB, PART, 1, 3 * MiB, len(data)]:
        piece = data[offset : offset + length]
        writer = store.open_append(ref, offset, len(data) - offset)
        writer.write([piece])
        writer.commit()
        offset += len(piece)
        if offset == len(data):
            break
    # An append cut short and given up leaves the recorded bytes as they were.
    writer = store.open_append(ref, offset, 0)
    writer.abort()
    store.publish(ref, "uploads/tus", len(data))
    assert content(store, "uploads/tus") == data


def test_an_append_is_resumed_on_another_writer_from_the_tail_piece(store: S3BlobStore) -> None:
    data = data_of(PART + 100, seed=4)
    ref = store.create_staging("uploads/tus2", len(data))
    first = store.open_append(ref, 0, len(data))
    first.write([data[: PART - 1]])
    first.commit()
    # Another server, knowing only the reference and the offset, goes on.
    other = S3BlobStore(store.bucket, "some/prefix", endpoint_url=store.client.meta.endpoint_url)
    second = other.open_append(ref, PART - 1, len(data) - PART + 1)
    second.write([data[PART - 1 :]])
    second.commit()
    other.publish(ref, "uploads/tus2", len(data))
    assert content(store, "uploads/tus2") == data


@pytest.mark.parametrize("sizes", [[PART + 1, PART, 10], [10, PART + 1]], ids=["copy", "stream"])
def test_concatenate_joins_complete_staging_blobs(store: S3BlobStore, sizes: list[int]) -> None:
    sources, expected = [], b""
    for number, size in enumerate(sizes):
        data = data_of(size, seed=10 + number)
        ref = store.create_staging(f"uploads/p{number}", size)
        writer = store.open_append(ref, 0, size)
        writer.write([data])
        writer.commit()
        sources.append(ref)
        expected += data
    final = store.create_staging("uploads/final", len(expected))
    store.concatenate(final, sources, sizes)
    store.publish(final, "uploads/final", len(expected))
    assert content(store, "uploads/final") == expected
    assert content(store, "uploads/p0") == expected[: sizes[0]]  # the sources stay readable


def test_an_empty_blob_publishes(store: S3BlobStore) -> None:
    ref = store.create_staging("uploads/empty", 0)
    store.publish(ref, "uploads/empty", 0)
    assert store.exists("uploads/empty")
    assert content(store, "uploads/empty") == b""


def test_delete_aborts_the_upload_and_removes_its_pieces(store: S3BlobStore) -> None:
    ref = store.create_staging("uploads/gone", None)
    writer = store.open_append(ref, 0, 100)
    writer.write([b"x" * 100])
    writer.commit()
    assert store.exists(ref)
    store.delete(ref)
    assert not store.exists(ref)
    assert objects(store) == []
    listed = store.client.list_multipart_uploads(Bucket=store.bucket)
    assert listed.get("Uploads", []) == []
    store.delete(ref)  # twice: harmless


def test_reads_past_the_end_are_empty_and_missing_blobs_fail(store: S3BlobStore) -> None:
    ref = store.create_staging("uploads/r", 3)
    writer = store.open_part(ref, 0, 0, 3)
    writer.write([b"abc"])
    writer.commit()
    store.publish(ref, "uploads/r", 3)
    assert content(store, "uploads/r", 3) == b""
    assert content(store, "uploads/r", 1, 1) == b""
    with pytest.raises(FileNotFoundError):
        content(store, "uploads/none")


def test_a_part_cannot_overflow_and_a_missing_piece_is_an_error(store: S3BlobStore) -> None:
    ref = store.create_staging("uploads/o", 10)
    writer = store.open_part(ref, 0, 0, 4)
    with pytest.raises(StorageError):
        writer.write([b"12345"])
    writer.abort()
    with pytest.raises(StorageError):
        store.publish(ref, "uploads/o", 10)  # nothing was stored


def test_put_file_and_check(store: S3BlobStore, tmp_path: Path, moto: MotoServer) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"a,b\n1,2\n")
    store.put_file("outputs/x", path)
    assert content(store, "outputs/x") == b"a,b\n1,2\n"
    store.check()
    missing = S3BlobStore("no-such-bucket", endpoint_url=moto.url)
    with pytest.raises(StorageError):
        missing.check()
    assert os.environ["AWS_ACCESS_KEY_ID"]  # found through the standard chain


def test_a_small_write_to_a_deleted_staging_blob_is_refused_and_leaves_nothing(
    store: S3BlobStore,
) -> None:
    ref = store.create_staging("uploads/a", 10, PART)
    store.delete(ref)
    writer = store.open_part(ref, 0, 0, 10)
    writer.write([b"0123456789"])
    with pytest.raises(StorageError, match="gone"):
        writer.commit()
    assert objects(store) == []  # the piece S3 took is removed again


def test_publishing_an_empty_blob_leaves_only_the_empty_object(store: S3BlobStore) -> None:
    ref = store.create_staging("uploads/empty", 0, PART)
    writer = store.open_part(ref, 0, 0, 0)
    writer.write([b""])
    writer.commit()
    store.publish(ref, "uploads/empty", 0)
    assert objects(store) == ["some/prefix/uploads/empty"]
    assert content(store, "uploads/empty") == b""
