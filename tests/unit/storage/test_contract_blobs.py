"""The `BlobStore` contract, blobs: concatenation, publishing, reads, deletes and a full
store, on every store of `FLAVOURS` (conftest.py).

Where the protocol leaves a behaviour open (which error a missing published blob raises,
whether publishing moves a blob or completes it in place) the tests check only what every
store must share.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lfp.storage import (
    BlobStore,
    StorageError,
    StorageFull,
)
from tests.unit.storage.conftest import Flavour
from tests.unit.storage.contract import (
    MISSING,
    content,
    gone,
    publish,
    readable,
    staged,
    stored,
    write_part,
)

# -- concatenate ---------------------------------------------------------------------
# The upload core creates the final upload's staging blob, sized, before joining into it.


def test_concatenate_joins_sources_in_order_and_leaves_them_intact(store: BlobStore) -> None:
    p1 = staged(store, "uploads/p1", b"abc")
    p2 = staged(store, "uploads/p2", b"", sized=False)
    p3 = staged(store, "uploads/p3", b"defg", sized=False)
    final = store.create_staging("uploads/final", 10)
    store.concatenate(final, [p3, p1, p2, p1], [4, 3, 0, 3])
    assert content(store, publish(store, final, 10)) == b"defgabcabc"
    # Intact: each source still publishes as the bytes it held.
    assert content(store, publish(store, p1, 3)) == b"abc"
    assert content(store, publish(store, p2, 0)) == b""
    assert content(store, publish(store, p3, 4)) == b"defg"


def test_concatenate_replaces_what_the_key_held(store: BlobStore) -> None:
    p1 = staged(store, "uploads/p1", b"ab")
    p2 = staged(store, "uploads/p2", b"cd")
    final = staged(store, "uploads/final", b"old bytes!")
    store.concatenate(final, [p1, p2], [2, 2])
    assert content(store, publish(store, final, 4)) == b"abcd"


def test_concatenating_nothing_makes_an_empty_blob(store: BlobStore) -> None:
    final = store.create_staging("uploads/final", 0)
    store.concatenate(final, [], [])
    assert store.exists(final)
    assert content(store, publish(store, final, 0)) == b""


def test_the_joined_blob_does_not_follow_later_changes_of_its_sources(store: BlobStore) -> None:
    p1 = staged(store, "uploads/p1", b"abcd")
    p2 = staged(store, "uploads/p2", b"efgh")
    final = store.create_staging("uploads/final", 8)
    store.concatenate(final, [p1, p2], [4, 4])
    # A store may refuse the write (S3 publishes the sources it joins); if it takes it,
    # the joined blob must not see it.
    with contextlib.suppress(StorageError):
        write_part(store, p1, 0, [b"XXXX"])
    store.delete(p2)
    assert content(store, publish(store, final, 8)) == b"abcdefgh"


def test_concatenate_with_a_missing_source_fails_and_publishes_nothing(
    store: BlobStore,
) -> None:
    p1 = staged(store, "uploads/p1", b"abc")
    final = store.create_staging("uploads/final", 6)
    with pytest.raises(StorageError):
        store.concatenate(final, [p1, gone(store, "uploads/none")], [3, 4])
    assert not store.exists(store.final_key(final, "files/final"))
    assert content(store, publish(store, p1, 3)) == b"abc"


# -- publish and put_file ------------------------------------------------------------


def test_publish_makes_the_blob_readable_at_its_final_key(store: BlobStore) -> None:
    ref = staged(store, "uploads/a", b"abcdef")
    key = store.final_key(ref, "files/a")
    store.publish(ref, key, 6)
    assert store.exists(key)
    assert content(store, key) == b"abcdef"
    if key == "files/a":  # the store moves blobs (S3 completes them where they were begun)
        assert not store.exists(ref)


def test_publish_replaces_a_blob_at_the_final_key(store: BlobStore) -> None:
    old = staged(store, "uploads/a", b"old bytes")
    first = publish(store, old, 9, "files/a")
    new = staged(store, "uploads/a", b"new")
    assert publish(store, new, 3, "files/a") == first
    assert content(store, first) == b"new"


def test_publishing_a_deleted_staging_blob_fails(store: BlobStore) -> None:
    ref = gone(store, "uploads/a")
    key = store.final_key(ref, "files/a")
    with pytest.raises(MISSING):
        store.publish(ref, key, 0)
    assert not store.exists(key)


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
    key = stored(store, "uploads/a", DIGITS)
    assert content(store, key, start, end) == expected


@pytest.mark.parametrize("block_size", [1, 3, 4, 10, 11, 1 << 20])
def test_read_yields_blocks_no_larger_than_asked(store: BlobStore, block_size: int) -> None:
    key = stored(store, "uploads/a", DIGITS)
    blocks = list(store.read(key, 1, 9, block_size=block_size))
    assert b"".join(blocks) == DIGITS[1:9]
    assert all(0 < len(block) <= block_size for block in blocks)


def test_an_empty_blob_reads_as_no_blocks(store: BlobStore, read_from: str) -> None:
    ref = store.create_staging("uploads/a", None)
    assert list(store.read(readable(store, ref, 0, read_from))) == []


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


def test_random_parts_read_back_as_the_bytes_they_came_from(
    store: BlobStore, flavour: Flavour
) -> None:
    # One store serves every example (the number the flavour affords); each example uses
    # keys of its own.
    @settings(max_examples=flavour.examples, deadline=None)
    @given(
        upload=uploads(),
        sized=st.booleans(),
        start=st.integers(0, 320),
        end=st.none() | st.integers(0, 320),
        block_size=st.integers(1, 64),
    )
    def check(
        upload: tuple[bytes, list[tuple[int, list[bytes]]]],
        sized: bool,
        start: int,
        end: int | None,
        block_size: int,
    ) -> None:
        data, parts = upload
        ref = store.create_staging(f"uploads/{uuid.uuid4().hex}", len(data) if sized else None)
        for offset, blocks in parts:
            write_part(store, ref, offset, blocks)
        final = publish(store, ref, len(data))
        blocks = list(store.read(final, start, end, block_size=block_size))
        assert b"".join(blocks) == data[start:end]
        assert all(0 < len(block) <= block_size for block in blocks)
        store.delete(final)

    check()


# -- exists, delete, local_path, free_space, check -----------------------------------


def test_an_unknown_key_does_not_exist(store: BlobStore) -> None:
    assert not store.exists("files/none")


@pytest.mark.parametrize("published", [False, True], ids=["staging", "published"])
def test_delete_removes_the_blob_and_is_idempotent(store: BlobStore, published: bool) -> None:
    key = staged(store, "uploads/a", b"abc")
    if published:
        key = publish(store, key, 3)
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)
    store.delete("never/was/here")
    assert not store.exists(key)


@pytest.mark.parametrize("published", [False, True], ids=["staging", "published"])
def test_delete_leaves_other_blobs_alone(store: BlobStore, published: bool) -> None:
    # Keys that share a prefix: deleting one must not take the other's bytes.
    a, ab = staged(store, "uploads/a", b"a"), staged(store, "uploads/ab", b"ab")
    if published:
        a, ab = publish(store, a, 1, "files/a"), publish(store, ab, 2, "files/ab")
    store.delete(a)
    assert content(store, ab if published else publish(store, ab, 2)) == b"ab"


def test_a_local_path_if_any_holds_the_blob_bytes(store: BlobStore) -> None:
    path = store.local_path(stored(store, "uploads/a", b"abc"))
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
    ref = store.create_staging("uploads/a", 30)
    assert store.free_space() == 70
    staged(store, "uploads/b", b"x" * 20, sized=False)
    assert store.free_space() == 50
    store.delete(ref)
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
    ref = store.create_staging("uploads/a", 60)
    staged(store, "uploads/filler", b"f" * 40, sized=False)
    assert store.free_space() == 0
    write_part(store, ref, 0, [b"a" * 60])
    assert content(store, publish(store, ref, 60)) == b"a" * 60


def test_a_write_growing_past_the_free_space_raises_storage_full(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(10)
    ref = store.create_staging("uploads/a", None)
    writer = store.open_append(ref, 0, 100)
    writer.write([b"12345678"])
    with pytest.raises(StorageFull):
        writer.write([b"abc"])
    writer.commit()
    assert content(store, publish(store, ref, 8)) == b"12345678"


def test_a_concatenation_that_does_not_fit_raises_storage_full_and_leaves_no_blob(
    limited: Callable[[int], BlobStore],
) -> None:
    store = limited(10)
    p1 = staged(store, "uploads/p1", b"abcd")
    p2 = staged(store, "uploads/p2", b"efg")
    final = store.create_staging("uploads/final", None)
    with pytest.raises(StorageFull):
        store.concatenate(final, [p1, p2], [4, 3])
    assert not store.exists(final)


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
