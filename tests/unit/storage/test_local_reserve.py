"""The local store on a nearly full disk: the database's reserve, and appends that give back."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lfp.storage import LocalBlobStore, StorageFull

# More than any disk has free: every write that grows a file eats into it.
HUGE_RESERVE = 1 << 62


def enospc(*_args: object) -> int:
    """`pwritev` on a disk with no byte left."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_write_that_grows_a_staging_file_into_the_reserve_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False, reserve_bytes=HUGE_RESERVE)
    key = store.create_staging("uploads/unsized", None)
    writer = store.open_part(key, 0, 0, 1024)
    with pytest.raises(StorageFull, match="LFP_DB_RESERVE_BYTES"):
        writer.write([b"x" * 1024])
    writer.abort()
    assert store.local_path(key).stat().st_size == 0


def test_writes_into_preallocated_space_ignore_the_reserve(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False, reserve_bytes=HUGE_RESERVE)
    key = store.create_staging("uploads/sized", 1024)
    writer = store.open_part(key, 0, 0, 1024)
    writer.write([b"x" * 1024])
    writer.commit()
    assert b"".join(store.read(key)) == b"x" * 1024


def test_no_reserve_lets_a_staging_file_grow(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    key = store.create_staging("uploads/unsized", None)
    writer = store.open_part(key, 0, 0, 10)
    writer.write([b"0123456789"])
    writer.commit()
    assert store.local_path(key).stat().st_size == 10


def test_an_append_aborted_on_a_full_disk_cuts_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    key = store.create_staging("uploads/tus", None)
    first = store.open_append(key, 0, 100)
    first.write([b"a" * 100])
    first.commit()
    second = store.open_append(key, 100, 100)
    second.write([b"b" * 60])
    monkeypatch.setattr(os, "pwritev", enospc)
    with pytest.raises(StorageFull):
        second.write([b"b" * 10])
    second.abort()
    monkeypatch.undo()
    assert b"".join(store.read(key)) == b"a" * 100


def test_an_append_aborted_otherwise_leaves_its_bytes_to_be_overwritten(tmp_path: Path) -> None:
    # A writer that lost its lease aborts too; cutting the file could cut its successor's.
    store = LocalBlobStore(tmp_path, fsync=False)
    key = store.create_staging("uploads/tus", None)
    writer = store.open_append(key, 0, 100)
    writer.write([b"a" * 60])
    writer.abort()
    assert store.local_path(key).stat().st_size == 60


def test_an_aborted_append_into_preallocated_space_leaves_the_size(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    key = store.create_staging("uploads/tus", 200)
    writer = store.open_append(key, 0, 200)
    writer.write([b"c" * 50])
    writer.abort()
    assert store.local_path(key).stat().st_size == 200


def test_staging_blobs_lists_the_files_under_a_prefix(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    assert list(store.staging_blobs("uploads/")) == []
    store.create_staging("uploads/one", 1)
    store.create_staging("files/other", 1)
    assert [key for key, _ in store.staging_blobs("uploads/")] == ["uploads/one"]
