"""The local-directory blob store."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfp.storage import LocalBlobStore, StorageError


def test_parts_written_out_of_order_publish_as_one_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=True)
    store.create_staging("uploads/a", 10)
    for index, offset, data in [(1, 4, [b"efgh"]), (2, 8, [b"i", b"j"]), (0, 0, [b"ab", b"cd"])]:
        part = store.open_part("uploads/a", index, offset, sum(map(len, data)))
        part.write(data)
        part.commit()
    store.publish("uploads/a", "files/a")
    assert not store.exists("uploads/a")
    assert b"".join(store.read("files/a")) == b"abcdefghij"
    assert b"".join(store.read("files/a", 3, 7, block_size=2)) == b"defg"


def test_a_part_cannot_overflow_its_length(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.create_staging("uploads/b", 4)
    part = store.open_part("uploads/b", 0, 0, 4)
    with pytest.raises(StorageError):
        part.write([b"abc", b"de"])
    part.abort()


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root")
    with pytest.raises(StorageError):
        store.exists("../outside")


def test_delete_is_idempotent(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.create_staging("uploads/c", 0)
    store.delete("uploads/c")
    store.delete("uploads/c")
    assert not store.exists("uploads/c")
