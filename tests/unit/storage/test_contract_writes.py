"""The `BlobStore` contract, writing: staging blobs, parts and appends, on every store.

Each test runs once per store of `FLAVOURS` (conftest.py). A store whose `reads_staging`
is False (S3 cannot read an unfinished multipart upload) skips only the variants that
read a staging blob before publishing it. Sizes are small, so on S3 the parts are held
as pieces and joined at publish; one case writes parts of the store's
`limits.min_part_size`. Where the protocol leaves a behaviour open (what an aborted part
leaves behind) the tests check only what every store must share.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lfp.storage import (
    BlobStore,
    StorageError,
)
from tests.unit.storage.contract import (
    append,
    content,
    gone,
    publish,
    readable,
    staged,
    write_part,
)

# -- staging and parts ---------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 0, 10])
def test_a_new_staging_blob_exists(store: BlobStore, size: int | None) -> None:
    ref = store.create_staging("uploads/a", size)
    assert store.exists(ref)


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "unsized"])
def test_parts_written_out_of_order_read_back_in_place(
    store: BlobStore, read_from: str, sized: bool
) -> None:
    ref = store.create_staging("uploads/a", 10 if sized else None)
    for index, offset, blocks in [(1, 4, [b"efgh"]), (2, 8, [b"i", b"j"]), (0, 0, [b"ab", b"cd"])]:
        write_part(store, ref, offset, blocks, index)
    assert content(store, readable(store, ref, 10, read_from)) == b"abcdefghij"


def test_parts_of_the_smallest_size_the_store_takes_join_whole(store: BlobStore) -> None:
    # On S3 (5 MiB) these are real parts, the short last one included; elsewhere, 1 KiB ones.
    chunk = max(store.limits.min_part_size, 1024)
    data = random.Random(7).randbytes(2 * chunk + 7)
    ref = store.create_staging("uploads/a", len(data), chunk)
    for index in (2, 0, 1, 0):  # out of order, one sent twice
        piece = data[index * chunk : (index + 1) * chunk]
        write_part(store, ref, index * chunk, [piece[:100], piece[100:]], index)
    key = publish(store, ref, len(data))
    assert content(store, key) == data
    assert content(store, key, chunk - 3, chunk + 5) == data[chunk - 3 : chunk + 5]


def test_a_part_takes_several_writes_and_empty_blocks(store: BlobStore, read_from: str) -> None:
    ref = store.create_staging("uploads/a", 6)
    part = store.open_part(ref, 0, 0, 6)
    part.write([])
    part.write([b"", b"ab", b""])
    part.write([b"cd", b"e", b"f"])
    part.commit()
    assert content(store, readable(store, ref, 6, read_from)) == b"abcdef"


def test_a_write_overflowing_the_part_is_refused_whole(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", 8)
    write_part(store, ref, 4, [b"wxyz"], 1)
    part = store.open_part(ref, 0, 0, 4)
    part.write([b"abc"])
    with pytest.raises(StorageError):
        part.write([b"d", b"e"])
    part.write([b"d"])  # none of the refused write was taken: there is room for one byte
    part.commit()
    assert content(store, publish(store, ref, 8)) == b"abcdwxyz"


def test_a_single_write_longer_than_the_part_is_refused(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", 4)
    part = store.open_part(ref, 0, 0, 4)
    with pytest.raises(StorageError):
        part.write([b"abc", b"de"])
    part.abort()


def test_a_zero_length_part_commits(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", 0)
    part = store.open_part(ref, 0, 0, 0)
    part.write([b""])
    part.commit()
    assert content(store, publish(store, ref, 0)) == b""


@pytest.mark.parametrize("opening", ["part", "append"])
def test_a_deleted_staging_blob_cannot_be_written(store: BlobStore, opening: str) -> None:
    # The error may come when the writer is opened, or at the latest when it commits.
    ref = gone(store, "uploads/a")
    with pytest.raises(StorageError):
        writer = (
            store.open_part(ref, 0, 0, 4) if opening == "part" else store.open_append(ref, 0, 4)
        )
        writer.write([b"abcd"])
        writer.commit()


def test_an_aborted_part_rewritten_reads_back_the_retry(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", 8)
    write_part(store, ref, 0, [b"abcd"])
    part = store.open_part(ref, 1, 4, 4)
    part.write([b"XX"])
    part.abort()
    write_part(store, ref, 4, [b"ef", b"gh"], 1)
    assert content(store, publish(store, ref, 8)) == b"abcdefgh"


def test_an_abort_leaves_the_other_parts_and_blobs_as_they_were(store: BlobStore) -> None:
    other = staged(store, "uploads/other", b"other")
    ref = store.create_staging("uploads/a", 8)
    write_part(store, ref, 0, [b"abcd"])
    part = store.open_part(ref, 1, 4, 4)
    part.write([b"XXXX"])
    part.abort()
    assert content(store, publish(store, ref, 4), 0, 4) == b"abcd"
    assert content(store, publish(store, other, 5)) == b"other"


def test_abort_after_commit_is_harmless(store: BlobStore) -> None:
    # The upload core aborts when anything fails after opening, a commit that raised or
    # was interrupted by cancellation included.
    ref = store.create_staging("uploads/a", 2)
    part = store.open_part(ref, 0, 0, 2)
    part.write([b"ab"])
    part.commit()
    part.abort()
    part.abort()
    assert content(store, publish(store, ref, 2)) == b"ab"


def test_a_closed_part_refuses_writes(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", 4)
    part = store.open_part(ref, 0, 0, 4)
    part.abort()
    with pytest.raises(StorageError):
        part.write([b"ab"])
    with pytest.raises(StorageError):
        part.commit()


def test_parts_written_by_parallel_threads_all_land(store: BlobStore) -> None:
    parts = 8
    chunk = 4096
    expected = b"".join(bytes([index]) * chunk for index in range(parts))
    ref = store.create_staging("uploads/a", len(expected))
    start = threading.Barrier(parts)

    def upload(index: int) -> None:
        part = store.open_part(ref, index, index * chunk, chunk)
        start.wait()
        for piece in range(0, chunk, 512):
            part.write([expected[index * chunk + piece : index * chunk + piece + 512]])
        part.commit()

    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(upload, range(parts)))
    assert content(store, publish(store, ref, len(expected))) == expected


# -- appends -------------------------------------------------------------------------


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "unsized"])
def test_appends_build_the_blob_in_order(store: BlobStore, read_from: str, sized: bool) -> None:
    ref = store.create_staging("uploads/a", 9 if sized else None)
    offset = 0
    for blocks in ([b"abc"], [b"de", b"f"], [b"ghi"]):
        append(store, ref, offset, blocks, 9 - offset)
        offset += sum(len(block) for block in blocks)
    assert content(store, readable(store, ref, 9, read_from)) == b"abcdefghi"


def test_an_append_committed_short_keeps_what_was_written(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", None)
    append(store, ref, 0, [b"abc"], 100)
    assert content(store, publish(store, ref, 3)) == b"abc"


def test_an_append_cannot_overflow_its_max_length(store: BlobStore) -> None:
    ref = store.create_staging("uploads/a", None)
    writer = store.open_append(ref, 0, 3)
    writer.write([b"ab"])
    with pytest.raises(StorageError):
        writer.write([b"cd"])
    writer.commit()
    assert content(store, publish(store, ref, 2)) == b"ab"


def test_an_aborted_append_retried_at_the_same_offset_reads_back_the_retry(
    store: BlobStore,
) -> None:
    ref = store.create_staging("uploads/a", None)
    append(store, ref, 0, [b"ab"], 10)
    writer = store.open_append(ref, 2, 8)
    writer.write([b"XYZ"])
    writer.abort()
    append(store, ref, 2, [b"cde"], 8)
    assert content(store, publish(store, ref, 5)) == b"abcde"
