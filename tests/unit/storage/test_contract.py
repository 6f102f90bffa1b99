"""The `BlobStore` contract: what every store must do, checked on each implementation.

Each test runs once per entry of `FLAVOURS` (the local store on `tmp_path` with fsync off
and on, the memory store). A new store (say S3) joins the suite by adding one `Flavour` to
that list: how to make a store, and, if it can be made full, how to make one that holds at
most a given number of bytes (tests of `StorageFull` are skipped, with the reason given,
for stores that cannot be).

Where the protocol leaves a behaviour open (what an aborted part leaves behind, which
error a missing published blob raises) the tests check only what every store must share.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lfp.storage import (
    BlobStore,
    LocalBlobStore,
    MemoryBlobStore,
    StorageError,
    StorageFull,
)

# Reading a blob that is not there fails; the protocol does not yet say with which error
# (the local store lets the file system's FileNotFoundError through).
MISSING = (StorageError, FileNotFoundError)


@dataclass(frozen=True)
class Flavour:
    """One store implementation under test."""

    name: str
    make: Callable[[Path], BlobStore]
    """A fresh, empty store using `tmp_path` as it likes."""
    make_limited: Callable[[Path, int], BlobStore] | None = None
    """A fresh store that holds at most `capacity` bytes, if the store can be made full."""
    why_not_limited: str = ""


FLAVOURS = [
    Flavour(
        "local",
        lambda tmp: LocalBlobStore(tmp / "store", fsync=False),
        why_not_limited="a local store is full only when its file system is; a small "
        "file system would have to be mounted, which unit tests cannot rely on",
    ),
    Flavour(
        "local-fsync",
        lambda tmp: LocalBlobStore(tmp / "store", fsync=True),
        why_not_limited="a local store is full only when its file system is; a small "
        "file system would have to be mounted, which unit tests cannot rely on",
    ),
    Flavour(
        "memory",
        lambda tmp: MemoryBlobStore(),
        lambda tmp, capacity: MemoryBlobStore(capacity=capacity),
    ),
]


@pytest.fixture(params=FLAVOURS, ids=[flavour.name for flavour in FLAVOURS])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    """The implementation a test runs on."""
    chosen: Flavour = request.param
    return chosen


@pytest.fixture
def store(flavour: Flavour, tmp_path: Path) -> BlobStore:
    """A fresh, empty store of the flavour under test."""
    return flavour.make(tmp_path)


@pytest.fixture
def limited(flavour: Flavour, tmp_path: Path) -> Callable[[int], BlobStore]:
    """Makes stores of the flavour that hold at most `capacity` bytes, or skips the test."""
    make = flavour.make_limited
    if make is None:
        pytest.skip(f"{flavour.name}: {flavour.why_not_limited}")

    def make_store(capacity: int) -> BlobStore:
        return make(tmp_path / uuid.uuid4().hex, capacity)

    return make_store


def content(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of `key` in `[start, end)`."""
    return b"".join(store.read(key, start, end))


def write_part(store: BlobStore, key: str, offset: int, blocks: Sequence[bytes]) -> None:
    """Write and commit one part of exactly `blocks` at `offset`."""
    part = store.open_part(key, 0, offset, sum(len(block) for block in blocks))
    part.write(blocks)
    part.commit()


def staged(store: BlobStore, key: str, data: bytes, *, sized: bool = True) -> None:
    """Create staging blob `key` holding `data`, written as one part."""
    store.create_staging(key, len(data) if sized else None)
    write_part(store, key, 0, [data])


# -- staging and parts ---------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 0, 10])
def test_a_new_staging_blob_exists(store: BlobStore, size: int | None) -> None:
    store.create_staging("uploads/a", size)
    assert store.exists("uploads/a")


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "unsized"])
def test_parts_written_out_of_order_read_back_in_place(store: BlobStore, sized: bool) -> None:
    store.create_staging("uploads/a", 10 if sized else None)
    for offset, blocks in [(4, [b"efgh"]), (8, [b"i", b"j"]), (0, [b"ab", b"cd"])]:
        write_part(store, "uploads/a", offset, blocks)
    assert content(store, "uploads/a") == b"abcdefghij"


def test_a_part_takes_several_writes_and_empty_blocks(store: BlobStore) -> None:
    store.create_staging("uploads/a", 6)
    part = store.open_part("uploads/a", 0, 0, 6)
    part.write([])
    part.write([b"", b"ab", b""])
    part.write([b"cd", b"e", b"f"])
    part.commit()
    assert content(store, "uploads/a") == b"abcdef"


def test_a_write_overflowing_the_part_is_refused_whole(store: BlobStore) -> None:
    store.create_staging("uploads/a", 8)
    write_part(store, "uploads/a", 4, [b"wxyz"])
    part = store.open_part("uploads/a", 0, 0, 4)
    part.write([b"abc"])
    with pytest.raises(StorageError):
        part.write([b"d", b"e"])
    part.commit()
    assert content(store, "uploads/a", 0, 3) == b"abc"
    assert content(store, "uploads/a", 4) == b"wxyz"


def test_a_single_write_longer_than_the_part_is_refused(store: BlobStore) -> None:
    store.create_staging("uploads/a", 4)
    part = store.open_part("uploads/a", 0, 0, 4)
    with pytest.raises(StorageError):
        part.write([b"abc", b"de"])
    part.abort()


def test_a_zero_length_part_commits(store: BlobStore) -> None:
    store.create_staging("uploads/a", 0)
    part = store.open_part("uploads/a", 0, 0, 0)
    part.write([b""])
    part.commit()
    assert content(store, "uploads/a") == b""


@pytest.mark.parametrize("opening", ["part", "append"])
def test_a_missing_staging_blob_cannot_be_opened(store: BlobStore, opening: str) -> None:
    with pytest.raises(StorageError):
        if opening == "part":
            store.open_part("uploads/none", 0, 0, 4)
        else:
            store.open_append("uploads/none", 0, 4)


def test_an_aborted_part_rewritten_reads_back_the_retry(store: BlobStore) -> None:
    store.create_staging("uploads/a", 8)
    write_part(store, "uploads/a", 0, [b"abcd"])
    part = store.open_part("uploads/a", 1, 4, 4)
    part.write([b"XX"])
    part.abort()
    write_part(store, "uploads/a", 4, [b"ef", b"gh"])
    assert content(store, "uploads/a") == b"abcdefgh"


def test_an_abort_leaves_the_other_parts_and_blobs_as_they_were(store: BlobStore) -> None:
    staged(store, "uploads/other", b"other")
    store.create_staging("uploads/a", 8)
    write_part(store, "uploads/a", 0, [b"abcd"])
    part = store.open_part("uploads/a", 1, 4, 4)
    part.write([b"XXXX"])
    part.abort()
    assert content(store, "uploads/a", 0, 4) == b"abcd"
    assert content(store, "uploads/other") == b"other"


def test_abort_after_commit_is_harmless(store: BlobStore) -> None:
    # The upload core aborts when anything fails after opening, a commit that raised or
    # was interrupted by cancellation included.
    store.create_staging("uploads/a", 2)
    part = store.open_part("uploads/a", 0, 0, 2)
    part.write([b"ab"])
    part.commit()
    part.abort()
    part.abort()
    assert content(store, "uploads/a") == b"ab"


def test_a_closed_part_refuses_writes(store: BlobStore) -> None:
    store.create_staging("uploads/a", 4)
    part = store.open_part("uploads/a", 0, 0, 4)
    part.abort()
    with pytest.raises(StorageError):
        part.write([b"ab"])
    with pytest.raises(StorageError):
        part.commit()


def test_parts_written_by_parallel_threads_all_land(store: BlobStore) -> None:
    parts = 8
    chunk = 4096
    expected = b"".join(bytes([index]) * chunk for index in range(parts))
    store.create_staging("uploads/a", len(expected))
    start = threading.Barrier(parts)

    def upload(index: int) -> None:
        part = store.open_part("uploads/a", index, index * chunk, chunk)
        start.wait()
        for piece in range(0, chunk, 512):
            part.write([expected[index * chunk + piece : index * chunk + piece + 512]])
        part.commit()

    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(upload, range(parts)))
    assert content(store, "uploads/a") == expected


# -- appends -------------------------------------------------------------------------


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "unsized"])
def test_appends_build_the_blob_in_order(store: BlobStore, sized: bool) -> None:
    store.create_staging("uploads/a", 9 if sized else None)
    offset = 0
    for blocks in ([b"abc"], [b"de", b"f"], [b"ghi"]):
        append = store.open_append("uploads/a", offset, 9 - offset)
        append.write(blocks)
        append.commit()
        offset += sum(len(block) for block in blocks)
    assert content(store, "uploads/a") == b"abcdefghi"


def test_an_append_committed_short_keeps_what_was_written(store: BlobStore) -> None:
    store.create_staging("uploads/a", None)
    append = store.open_append("uploads/a", 0, 100)
    append.write([b"abc"])
    append.commit()
    assert content(store, "uploads/a") == b"abc"


def test_an_append_cannot_overflow_its_max_length(store: BlobStore) -> None:
    store.create_staging("uploads/a", None)
    append = store.open_append("uploads/a", 0, 3)
    append.write([b"ab"])
    with pytest.raises(StorageError):
        append.write([b"cd"])
    append.commit()
    assert content(store, "uploads/a") == b"ab"


def test_an_aborted_append_retried_at_the_same_offset_reads_back_the_retry(
    store: BlobStore,
) -> None:
    store.create_staging("uploads/a", None)
    append = store.open_append("uploads/a", 0, 10)
    append.write([b"ab"])
    append.commit()
    append = store.open_append("uploads/a", 2, 8)
    append.write([b"XYZ"])
    append.abort()
    append = store.open_append("uploads/a", 2, 8)
    append.write([b"cde"])
    append.commit()
    assert content(store, "uploads/a") == b"abcde"


# -- concatenate ---------------------------------------------------------------------


def test_concatenate_joins_sources_in_order_and_leaves_them_intact(store: BlobStore) -> None:
    staged(store, "uploads/p1", b"abc")
    staged(store, "uploads/p2", b"", sized=False)
    staged(store, "uploads/p3", b"defg", sized=False)
    store.concatenate(
        "uploads/final", ["uploads/p3", "uploads/p1", "uploads/p2", "uploads/p1"], [4, 3, 0, 3]
    )
    assert content(store, "uploads/final") == b"defgabcabc"
    assert content(store, "uploads/p1") == b"abc"
    assert content(store, "uploads/p2") == b""
    assert content(store, "uploads/p3") == b"defg"


def test_concatenate_replaces_what_the_key_held(store: BlobStore) -> None:
    # The upload core creates the final upload's staging blob, sized, before joining.
    staged(store, "uploads/p1", b"ab")
    staged(store, "uploads/p2", b"cd")
    store.create_staging("uploads/final", 10)
    store.concatenate("uploads/final", ["uploads/p1", "uploads/p2"], [2, 2])
    assert content(store, "uploads/final") == b"abcd"


def test_concatenating_nothing_makes_an_empty_blob(store: BlobStore) -> None:
    store.concatenate("uploads/final", [], [])
    assert store.exists("uploads/final")
    assert content(store, "uploads/final") == b""


def test_the_joined_blob_does_not_follow_later_changes_of_its_sources(store: BlobStore) -> None:
    staged(store, "uploads/p1", b"abcd")
    staged(store, "uploads/p2", b"efgh")
    store.concatenate("uploads/final", ["uploads/p1", "uploads/p2"], [4, 4])
    write_part(store, "uploads/p1", 0, [b"XXXX"])
    store.delete("uploads/p2")
    assert content(store, "uploads/final") == b"abcdefgh"


def test_concatenate_with_a_missing_source_fails_and_leaves_no_blob(store: BlobStore) -> None:
    staged(store, "uploads/p1", b"abc")
    with pytest.raises(StorageError):
        store.concatenate("uploads/final", ["uploads/p1", "uploads/none"], [3, 3])
    assert not store.exists("uploads/final")
    assert content(store, "uploads/p1") == b"abc"


# -- publish and put_file ------------------------------------------------------------


def test_publish_moves_the_blob_to_its_final_key(store: BlobStore) -> None:
    staged(store, "uploads/a", b"abcdef")
    store.publish("uploads/a", "files/a", 6)
    assert not store.exists("uploads/a")
    assert store.exists("files/a")
    assert content(store, "files/a") == b"abcdef"


def test_publish_replaces_a_blob_at_the_final_key(store: BlobStore) -> None:
    staged(store, "uploads/old", b"old bytes")
    store.publish("uploads/old", "files/a", 9)
    staged(store, "uploads/new", b"new")
    store.publish("uploads/new", "files/a", 3)
    assert content(store, "files/a") == b"new"


def test_publishing_a_missing_staging_blob_fails(store: BlobStore) -> None:
    with pytest.raises(MISSING):
        store.publish("uploads/none", "files/a", 0)
    assert not store.exists("files/a")


@pytest.mark.parametrize("data", [b"", b"some output\n" * 100])
def test_put_file_stores_the_file_bytes(store: BlobStore, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "output.csv"
    path.write_bytes(data)
    store.put_file("jobs/j/out.csv", path)
    assert store.exists("jobs/j/out.csv")
    assert content(store, "jobs/j/out.csv") == data


def test_put_file_replaces_a_blob_at_the_key(store: BlobStore, tmp_path: Path) -> None:
    for data in (b"first", b"2nd"):
        path = tmp_path / "output.csv"
        path.write_bytes(data)
        store.put_file("jobs/j/out.csv", path)
    assert content(store, "jobs/j/out.csv") == b"2nd"


# -- read ----------------------------------------------------------------------------

DIGITS = b"0123456789"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, DIGITS),
        (3, 7, b"3456"),
        (0, 10, DIGITS),
        (9, None, b"9"),
        (10, None, b""),
        (15, None, b""),
        (4, 4, b""),
        (7, 3, b""),
        (5, 100, b"56789"),
    ],
)
def test_read_yields_the_bytes_of_the_range(
    store: BlobStore, start: int, end: int | None, expected: bytes
) -> None:
    staged(store, "files/a", DIGITS)
    assert content(store, "files/a", start, end) == expected


@pytest.mark.parametrize("block_size", [1, 3, 4, 10, 11, 1 << 20])
def test_read_yields_blocks_no_larger_than_asked(store: BlobStore, block_size: int) -> None:
    staged(store, "files/a", DIGITS)
    blocks = list(store.read("files/a", 1, 9, block_size=block_size))
    assert b"".join(blocks) == DIGITS[1:9]
    assert all(0 < len(block) <= block_size for block in blocks)


def test_an_empty_blob_reads_as_no_blocks(store: BlobStore) -> None:
    store.create_staging("files/a", None)
    assert list(store.read("files/a")) == []


def test_reading_a_missing_blob_fails(store: BlobStore) -> None:
    with pytest.raises(MISSING):
        list(store.read("files/none"))


@st.composite
def uploads(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, list[bytes]]]]:
    """Bytes of an upload and its parts: (offset, blocks) in a random order."""
    data = draw(st.binary(max_size=300))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=6)))
    bounds = [0, *(cut for cut in cuts if cut < len(data)), len(data)]
    parts = []
    for begin, stop in pairwise(bounds):
        splits = sorted(draw(st.lists(st.integers(begin, stop), max_size=3)))
        edges = [begin, *splits, stop]
        parts.append((begin, [data[a:b] for a, b in pairwise(edges)]))
    return data, draw(st.permutations(parts))


@settings(
    max_examples=60,
    deadline=None,
    # One store serves every example; each example uses keys of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    upload=uploads(),
    sized=st.booleans(),
    start=st.integers(0, 320),
    end=st.none() | st.integers(0, 320),
    block_size=st.integers(1, 64),
)
def test_random_parts_read_back_as_the_bytes_they_came_from(
    store: BlobStore,
    upload: tuple[bytes, list[tuple[int, list[bytes]]]],
    sized: bool,
    start: int,
    end: int | None,
    block_size: int,
) -> None:
    data, parts = upload
    key = f"uploads/{uuid.uuid4().hex}"
    store.create_staging(key, len(data) if sized else None)
    for offset, blocks in parts:
        write_part(store, key, offset, blocks)
    final = f"files/{uuid.uuid4().hex}"
    store.publish(key, final, len(data))
    blocks = list(store.read(final, start, end, block_size=block_size))
    assert b"".join(blocks) == data[start:end]
    assert all(0 < len(block) <= block_size for block in blocks)
    store.delete(final)


# -- exists, delete, local_path, free_space, check -----------------------------------


def test_an_unknown_key_does_not_exist(store: BlobStore) -> None:
    assert not store.exists("files/none")


def test_delete_removes_the_blob_and_is_idempotent(store: BlobStore) -> None:
    staged(store, "uploads/a", b"abc")
    store.delete("uploads/a")
    assert not store.exists("uploads/a")
    store.delete("uploads/a")
    store.delete("never/was/here")
    assert not store.exists("uploads/a")


def test_delete_leaves_other_blobs_alone(store: BlobStore) -> None:
    staged(store, "files/a", b"a")
    staged(store, "files/ab", b"ab")
    store.delete("files/a")
    assert content(store, "files/ab") == b"ab"


def test_a_local_path_if_any_holds_the_blob_bytes(store: BlobStore) -> None:
    staged(store, "files/a", b"abc")
    path = store.local_path("files/a")
    if path is not None:
        assert path.read_bytes() == b"abc"


def test_free_space_is_unknown_or_a_byte_count(store: BlobStore) -> None:
    free = store.free_space()
    assert free is None or free >= 0


def test_a_fresh_store_passes_its_check(store: BlobStore) -> None:
    store.check()


# -- a full store --------------------------------------------------------------------


def test_free_space_counts_down_as_blobs_are_stored_and_back_on_delete(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(100)
    assert store.free_space() == 100
    store.create_staging("uploads/a", 30)
    assert store.free_space() == 70
    staged(store, "uploads/b", b"x" * 20, sized=False)
    assert store.free_space() == 50
    store.delete("uploads/a")
    assert store.free_space() == 80


def test_a_staging_blob_larger_than_the_free_space_is_refused(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(100)
    with pytest.raises(StorageFull):
        store.create_staging("uploads/a", 101)
    assert not store.exists("uploads/a")


def test_a_reserved_staging_blob_fills_up_even_when_the_store_is_full(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(100)
    store.create_staging("uploads/a", 60)
    staged(store, "uploads/filler", b"f" * 40, sized=False)
    assert store.free_space() == 0
    write_part(store, "uploads/a", 0, [b"a" * 60])
    assert content(store, "uploads/a") == b"a" * 60


def test_a_write_growing_past_the_free_space_raises_storage_full(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(10)
    store.create_staging("uploads/a", None)
    append = store.open_append("uploads/a", 0, 100)
    append.write([b"12345678"])
    with pytest.raises(StorageFull):
        append.write([b"abc"])
    append.commit()
    assert content(store, "uploads/a") == b"12345678"


def test_a_concatenation_that_does_not_fit_raises_storage_full_and_leaves_no_blob(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(10)
    staged(store, "uploads/p1", b"abcd")
    staged(store, "uploads/p2", b"efg")
    with pytest.raises(StorageFull):
        store.concatenate("uploads/final", ["uploads/p1", "uploads/p2"], [4, 3])
    assert not store.exists("uploads/final")


def test_a_file_larger_than_the_free_space_is_refused(
    limited: Callable[[int], BlobStore], tmp_path: Path
) -> None:
    store = limited(10)
    path = tmp_path / "output.csv"
    path.write_bytes(b"x" * 11)
    with pytest.raises(StorageFull):
        store.put_file("jobs/j/out.csv", path)
    assert not store.exists("jobs/j/out.csv")


def test_storage_full_is_a_storage_error() -> None:
    assert issubclass(StorageFull, StorageError)
