"""What only the local-directory store does: files, preallocation, system calls, paths.

The behaviour every store shares is checked in `test_contract.py`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lfp.storage import LocalBlobStore, PartWriter, StorageError, StorageFull
from lfp.storage import local as local_module


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """A local store without fsync under `tmp_path`."""
    return LocalBlobStore(tmp_path / "store", fsync=False)


def failing(code: int) -> Callable[..., int]:
    """A stand-in for a system call that fails with `code`."""

    def fail(*args: object) -> int:
        raise OSError(code, os.strerror(code))

    return fail


def content(store: LocalBlobStore, key: str) -> bytes:
    """The whole blob under `key`."""
    return b"".join(store.read(key))


# -- paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../outside", "a/../../outside", "/etc/passwd"])
def test_keys_cannot_escape_the_root(store: LocalBlobStore, key: str) -> None:
    with pytest.raises(StorageError):
        store.exists(key)
    with pytest.raises(StorageError):
        store.create_staging(key, 1)


def test_a_key_is_a_path_under_the_root(store: LocalBlobStore) -> None:
    store.create_staging("uploads/x/../a", 3)
    assert store.local_path("uploads/a") == store.root / "uploads" / "a"
    assert (store.root / "uploads" / "a").is_file()


def test_the_check_fails_when_the_root_is_not_writable(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StorageError):
        store.check()


def test_free_space_is_the_file_system_free_space(store: LocalBlobStore) -> None:
    assert store.free_space() > 0


# -- preallocation -------------------------------------------------------------------


def test_a_staging_file_of_known_size_is_preallocated(store: LocalBlobStore) -> None:
    store.create_staging("uploads/a", 1 << 20)
    stat = (store.root / "uploads" / "a").stat()
    assert stat.st_size == 1 << 20
    assert stat.st_blocks * 512 >= 1 << 20


@pytest.mark.parametrize("code", [errno.EOPNOTSUPP, errno.EINVAL])
def test_without_fallocate_the_staging_file_is_sparse(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(os, "posix_fallocate", failing(code))
    store.create_staging("uploads/a", 1 << 20)
    assert (store.root / "uploads" / "a").stat().st_size == 1 << 20


def test_no_room_to_preallocate_raises_storage_full_and_leaves_no_file(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "posix_fallocate", failing(errno.ENOSPC))
    with pytest.raises(StorageFull):
        store.create_staging("uploads/a", 10)
    assert not store.exists("uploads/a")


def test_other_preallocation_failures_are_not_hidden(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "posix_fallocate", failing(errno.EIO))
    with pytest.raises(OSError) as raised:
        store.create_staging("uploads/a", 10)
    assert raised.value.errno == errno.EIO
    assert not store.exists("uploads/a")


# -- writing parts ---------------------------------------------------------------------


def test_short_pwritev_writes_are_resumed(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwritev

    def three_bytes_at_most(fd: int, buffers: list[memoryview], offset: int) -> int:
        head = bytes(b"".join(buffers))[:3]
        return real(fd, [head], offset)

    monkeypatch.setattr(os, "pwritev", three_bytes_at_most)
    store.create_staging("uploads/a", 10)
    part = store.open_part("uploads/a", 0, 0, 10)
    part.write([b"ab", b"cdefg", b"h", b"ij"])
    part.commit()
    assert content(store, "uploads/a") == b"abcdefghij"


def test_more_blocks_than_one_system_call_takes_are_all_written(store: LocalBlobStore) -> None:
    blocks = [bytes([i % 256]) for i in range(local_module._IOV_MAX * 2 + 5)]
    store.create_staging("uploads/a", len(blocks))
    part = store.open_part("uploads/a", 0, 0, len(blocks))
    part.write(blocks)
    part.commit()
    assert content(store, "uploads/a") == b"".join(blocks)


def test_a_full_disk_while_writing_raises_storage_full(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_staging("uploads/a", None)
    part = store.open_append("uploads/a", 0, 10)
    monkeypatch.setattr(os, "pwritev", failing(errno.ENOSPC))
    with pytest.raises(StorageFull):
        part.write([b"abc"])
    part.abort()


@pytest.mark.parametrize("fsync", [True, False])
def test_commit_flushes_the_part_only_with_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    store = LocalBlobStore(tmp_path, fsync=fsync)
    flushed: list[int] = []
    monkeypatch.setattr(os, "fdatasync", flushed.append)
    store.create_staging("uploads/a", 2)
    part = store.open_part("uploads/a", 0, 0, 2)
    part.write([b"ab"])
    part.commit()
    assert len(flushed) == (1 if fsync else 0)


def test_abort_after_commit_does_not_close_a_reused_descriptor(store: LocalBlobStore) -> None:
    store.create_staging("uploads/a", 2)
    part = store.open_part("uploads/a", 0, 0, 2)
    part.write([b"ab"])
    part.commit()
    assert_abort_leaves_a_reused_descriptor_alone(store, part)


def test_a_failed_flush_closes_the_part_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path, fsync=True)
    store.create_staging("uploads/a", 2)
    part = store.open_part("uploads/a", 0, 0, 2)
    part.write([b"ab"])
    monkeypatch.setattr(os, "fdatasync", failing(errno.EIO))
    with pytest.raises(OSError):
        part.commit()
    assert_abort_leaves_a_reused_descriptor_alone(store, part)


def assert_abort_leaves_a_reused_descriptor_alone(store: LocalBlobStore, part: PartWriter) -> None:
    """Once a part closed its descriptor, the number is free again and the next open gets
    it; aborting the part must not close that one."""
    other = os.open(store.root / "uploads" / "a", os.O_RDONLY)
    try:
        part.abort()
        assert os.pread(other, 2, 0) == b"ab"
    finally:
        os.close(other)


# -- concatenate (copy_file_range) -----------------------------------------------------


def test_concatenate_copies_inside_the_kernel_and_resumes_short_copies(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.copy_file_range
    calls: list[int] = []

    def two_bytes_at_most(source: int, target: int, count: int) -> int:
        calls.append(count)
        return real(source, target, min(count, 2))

    for key, data in [("uploads/p1", b"abcde"), ("uploads/p2", b"fgh")]:
        store.create_staging(key, len(data))
        part = store.open_part(key, 0, 0, len(data))
        part.write([data])
        part.commit()
    monkeypatch.setattr(os, "copy_file_range", two_bytes_at_most)
    store.concatenate("uploads/final", ["uploads/p1", "uploads/p2"], [5, 3])
    assert content(store, "uploads/final") == b"abcdefgh"
    assert calls == [5, 3, 1, 3, 1]


def test_a_source_that_shrinks_while_joined_fails_and_leaves_no_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_staging("uploads/p1", 4)
    monkeypatch.setattr(os, "copy_file_range", lambda source, target, count: 0)
    with pytest.raises(StorageError):
        store.concatenate("uploads/final", ["uploads/p1"], [4])
    assert not store.exists("uploads/final")


def test_a_full_disk_while_joining_raises_storage_full_and_leaves_no_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_staging("uploads/p1", 4)
    monkeypatch.setattr(os, "copy_file_range", failing(errno.ENOSPC))
    with pytest.raises(StorageFull):
        store.concatenate("uploads/final", ["uploads/p1"], [4])
    assert not store.exists("uploads/final")


# -- publish and put_file --------------------------------------------------------------


@pytest.mark.parametrize("fsync", [True, False])
def test_publish_flushes_the_file_then_its_new_folder_only_with_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    store = LocalBlobStore(tmp_path, fsync=fsync)
    store.create_staging("uploads/a", 3)
    flushed: list[Path] = []
    monkeypatch.setattr(local_module, "_fsync_path", flushed.append)
    store.publish("uploads/a", "files/a", 3)
    expected = [store.root / "uploads" / "a", store.root / "files"] if fsync else []
    assert flushed == expected


def test_publish_is_a_rename(store: LocalBlobStore) -> None:
    store.create_staging("uploads/a", 3)
    inode = (store.root / "uploads" / "a").stat().st_ino
    store.publish("uploads/a", "files/a", 3)
    assert (store.root / "files" / "a").stat().st_ino == inode


def test_put_file_moves_the_file_into_the_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "store", fsync=True)
    path = tmp_path / "output.csv"
    path.write_bytes(b"a,b\n")
    inode = path.stat().st_ino
    store.put_file("jobs/j/out.csv", path)
    assert not path.exists()
    assert (store.root / "jobs" / "j" / "out.csv").stat().st_ino == inode
