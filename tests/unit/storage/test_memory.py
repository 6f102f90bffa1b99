"""What only the in-memory store does: its capacity, its test helper, its keys, its lock.

The behaviour every store shares is checked in `test_contract.py`.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lfp.storage import MemoryBlobStore, StorageError, StorageFull


def content(store: MemoryBlobStore, key: str) -> bytes:
    """The whole blob under `key`."""
    return b"".join(store.read(key))


def test_an_unlimited_store_has_no_free_space_figure() -> None:
    assert MemoryBlobStore().free_space() is None


def test_a_negative_capacity_is_refused() -> None:
    with pytest.raises(ValueError):
        MemoryBlobStore(capacity=-1)


def test_no_blob_has_a_local_path() -> None:
    store = MemoryBlobStore()
    store.create_staging("files/a", 1)
    assert store.local_path("files/a") is None


def test_a_known_size_is_reserved_as_zeros() -> None:
    store = MemoryBlobStore()
    store.create_staging("uploads/a", 4)
    assert content(store, "uploads/a") == bytes(4)


def test_overwrite_changes_bytes_behind_the_stores_back() -> None:
    store = MemoryBlobStore()
    store.create_staging("files/a", 6)
    part = store.open_part("files/a", 0, 0, 6)
    part.write([b"abcdef"])
    part.commit()
    store.overwrite("files/a", 2, b"XY")
    assert content(store, "files/a") == b"abXYef"


@pytest.mark.parametrize(("offset", "data"), [(-1, b"x"), (5, b"xx"), (7, b"")])
def test_overwrite_stays_within_the_blob(offset: int, data: bytes) -> None:
    store = MemoryBlobStore()
    store.create_staging("files/a", 6)
    with pytest.raises(ValueError):
        store.overwrite("files/a", offset, data)


def test_overwrite_of_a_missing_blob_fails() -> None:
    with pytest.raises(StorageError):
        MemoryBlobStore().overwrite("files/none", 0, b"x")


@pytest.mark.parametrize("key", ["../outside", "a/../../outside", "/etc/passwd", "", "."])
def test_keys_cannot_escape_the_store(key: str) -> None:
    with pytest.raises(StorageError):
        MemoryBlobStore().create_staging(key, 1)


def test_keys_are_normalised_as_paths() -> None:
    store = MemoryBlobStore()
    store.create_staging("uploads//x/../a", 1)
    assert store.exists("uploads/a")


def test_put_file_takes_the_file_away(tmp_path: Path) -> None:
    store = MemoryBlobStore()
    path = tmp_path / "output.csv"
    path.write_bytes(b"a,b\n")
    store.put_file("jobs/j/out.csv", path)
    assert not path.exists()


def test_a_reader_keeps_reading_a_blob_published_or_deleted_meanwhile() -> None:
    store = MemoryBlobStore()
    store.create_staging("uploads/a", 4)
    part = store.open_part("uploads/a", 0, 0, 4)
    part.write([b"abcd"])
    part.commit()
    blocks = store.read("uploads/a", block_size=2)
    assert next(blocks) == b"ab"
    store.publish("uploads/a", "files/a", 4)
    store.delete("files/a")
    assert list(blocks) == [b"cd"]


def test_parallel_reservations_never_exceed_the_capacity() -> None:
    store = MemoryBlobStore(capacity=100)
    threads = 25
    start = threading.Barrier(threads)

    def reserve(index: int) -> bool:
        start.wait()
        try:
            store.create_staging(f"uploads/{index}", 10)
        except StorageFull:
            return False
        return True

    with ThreadPoolExecutor(threads) as pool:
        reserved = list(pool.map(reserve, range(threads)))
    assert reserved.count(True) == 10
    assert store.free_space() == 0
