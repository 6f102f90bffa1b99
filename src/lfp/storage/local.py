"""A `BlobStore` on a local directory: parts are written in place at their offsets."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from lfp.storage.base import StorageError, StorageFull, StoreLimits

_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


class LocalPartWriter:
    """Writes one part with `pwrite` at its offset in the staging file.

    A write that grows the file (a staging blob of unknown size) is refused with
    `StorageFull` when it would leave less than `reserve` bytes free on the disk: that room
    is kept for the database to record the abort. An append (`truncate_on_abort`) aborted
    after the disk filled up cuts the file back to what it was, so its bytes free their
    space at once (only then: a writer that lost its lease must not cut its successor's).
    """

    def __init__(
        self,
        path: Path,
        offset: int,
        length: int,
        fsync: bool,
        *,
        reserve: int = 0,
        truncate_on_abort: bool = False,
    ) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_WRONLY)
        except FileNotFoundError as exc:
            raise StorageError(f"staging blob {path.name} is gone") from exc
        self._start = offset
        self._position = offset
        self._end = offset + length
        self._fsync = fsync
        self._reserve = reserve
        self._initial_size = os.fstat(self._fd).st_size if truncate_on_abort else None
        self._full = False

    def _open_fd(self) -> int:
        """The part's file descriptor, unless the part is already committed or aborted."""
        if self._fd is None:
            raise StorageError("the part is already committed or aborted")
        return self._fd

    def write(self, blocks: Sequence[bytes]) -> None:
        """Write `blocks` at the next position of the part, in one system call if it can."""
        fd = self._open_fd()
        total = sum(len(b) for b in blocks)
        if self._position + total > self._end:
            raise StorageError("part overflows its declared length")
        # pwritev takes the request's pieces as they are: no copy to join them first.
        views = [memoryview(b) for b in blocks if b]
        try:
            if self._reserve:
                _check_reserve(fd, self._position + total, self._reserve)
            self._write_all(fd, views)
        except StorageFull:
            self._full = True
            raise

    def _write_all(self, fd: int, views: list[memoryview]) -> None:
        """Write every buffer of `views` from the current position on."""
        while views:
            try:
                written = os.pwritev(fd, views[:_IOV_MAX], self._position)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise StorageFull("no space left on the store's disk") from exc
                raise
            self._position += written
            views = _advance(views, written)

    def commit(self) -> None:
        """Flush the part to disk (when configured) and close it."""
        fd = self._open_fd()
        # Closed exactly once, even if the flush fails: an `abort` that follows a failed
        # commit must not close a descriptor number another thread has opened since.
        self._fd = None
        try:
            if self._fsync:
                os.fdatasync(fd)
        finally:
            os.close(fd)

    def abort(self) -> None:
        """Close without flushing: the bytes are not recorded and will be overwritten.

        Harmless once the part is closed (callers abort after a commit that failed or was
        interrupted).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._full and self._initial_size is not None:
                keep = max(self._initial_size, self._start)
                if os.fstat(fd).st_size > keep:
                    os.ftruncate(fd, keep)
        finally:
            os.close(fd)


class LocalBlobStore:
    """Blobs as files under one root folder; keys are relative paths like `files/<id>`."""

    limits = StoreLimits()
    reads_staging = True

    def __init__(self, root: Path, *, fsync: bool = True, reserve_bytes: int = 0) -> None:
        self.root = root.resolve()
        self._fsync = fsync
        self._reserve = reserve_bytes
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"key {key!r} escapes the store")
        return path

    def create_staging(self, key: str, size: int | None, part_size: int = 0) -> str:
        """Create the staging file, preallocating `size` bytes so writes cannot run out."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if size:
                _preallocate(fd, size)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        return key

    def open_part(self, key: str, index: int, offset: int, length: int) -> LocalPartWriter:
        """A writer for `length` bytes at `offset` of the staging file."""
        return LocalPartWriter(self._path(key), offset, length, self._fsync, reserve=self._reserve)

    def open_append(self, key: str, offset: int, max_length: int) -> LocalPartWriter:
        """A writer for up to `max_length` bytes at `offset` of the staging file."""
        path = self._path(key)
        return LocalPartWriter(
            path, offset, max_length, self._fsync, reserve=self._reserve, truncate_on_abort=True
        )

    def concatenate(self, key: str, sources: Sequence[str], sizes: Sequence[int]) -> None:
        """Join `sources` into a new staging file with `copy_file_range`.

        The kernel copies without the bytes passing through lfp, and on file systems with
        reflinks (XFS, Btrfs) shares the extents instead of copying them.
        """
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "wb") as target:
                for source in sources:
                    with open(self._path(source), "rb") as part:
                        _copy_all(part.fileno(), target.fileno())
                if self._fsync:
                    os.fdatasync(target.fileno())
        except BaseException as exc:
            path.unlink(missing_ok=True)  # no half-joined blob is left behind
            if isinstance(exc, FileNotFoundError):
                name = Path(exc.filename or "").name
                raise StorageError(f"staging blob {name} is gone") from exc
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise StorageFull("no space left on the store") from exc
            raise

    def final_key(self, staging_key: str, wanted: str) -> str:
        """`wanted`: publishing moves the blob wherever it is asked to."""
        return wanted

    def publish(self, staging_key: str, final_key: str, size: int) -> None:
        """Move the staging file to its final place in one rename."""
        self._place(self._path(staging_key), self._path(final_key), os.replace)

    def put_file(self, key: str, path: Path) -> None:
        """Move the file at `path` to `key` (a rename when both are on one file system)."""
        self._place(path, self._path(key), shutil.move)

    def _place(self, source: Path, target: Path, move: Callable[[Path, Path], object]) -> None:
        """Move `source` to `target` durably: its bytes, then the folder entry, on disk."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self._fsync:
            _fsync_path(source)
        move(source, target)
        if self._fsync:
            _fsync_path(target.parent)

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Yield the bytes of `key` in `[start, end)`, a block at a time."""
        path = self._path(key)
        with open(path, "rb", buffering=0) as f:
            f.seek(start)
            remaining = (end - start) if end is not None else None
            while remaining is None or remaining > 0:
                want = block_size if remaining is None else min(block_size, remaining)
                block = f.read(want)
                if not block:
                    return
                if remaining is not None:
                    remaining -= len(block)
                yield block

    def exists(self, key: str) -> bool:
        """Whether a file holds `key`."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file behind `key`, if any."""
        self._path(key).unlink(missing_ok=True)

    def free_space(self) -> int:
        """Free bytes on the file system that holds the root."""
        return shutil.disk_usage(self.root).free

    def staging_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        """The key and last-modified time (epoch seconds) of each file under `prefix`."""
        folder = self._path(prefix)
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    yield f"{prefix.rstrip('/')}/{entry.name}", entry.stat().st_mtime
            except FileNotFoundError:
                continue  # removed while being listed

    def local_path(self, key: str) -> Path:
        """The file that holds `key`."""
        return self._path(key)

    def check(self) -> None:
        """Fail unless the root folder is writable."""
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")


def _copy_all(source: int, target: int) -> None:
    """Append the whole of file `source` to file `target`, inside the kernel."""
    remaining = os.fstat(source).st_size
    while remaining > 0:
        copied = os.copy_file_range(source, target, min(remaining, 1 << 30))
        if copied == 0:
            raise StorageError("a staging blob shrank while it was being joined")
        remaining -= copied


def _check_reserve(fd: int, end: int, reserve: int) -> None:
    """Raise `StorageFull` if growing file `fd` to `end` bytes would eat into `reserve`."""
    growth = end - os.fstat(fd).st_size
    if growth <= 0:
        return  # within the file's (preallocated) bytes: its space is already taken
    vfs = os.fstatvfs(fd)
    free = vfs.f_bavail * vfs.f_frsize
    if free - growth < reserve:
        raise StorageFull(
            f"the store's disk is nearly full: {free} bytes are free, and {reserve} are kept "
            "back so the database can still record what happened (LFP_DB_RESERVE_BYTES)"
        )


def _advance(views: list[memoryview], written: int) -> list[memoryview]:
    """The buffers still to write after `written` bytes of `views` went out."""
    while views and written >= len(views[0]):
        written -= len(views[0])
        views = views[1:]
    if views and written:
        views = [views[0][written:], *views[1:]]
    return views


def _preallocate(fd: int, size: int) -> None:
    """Reserve `size` bytes for file `fd` (a sparse file where the file system cannot)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StorageFull(f"no room for {size} bytes on the store") from exc
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        # File systems without fallocate (tmpfs on old kernels, some FUSE): a sparse file.
        os.ftruncate(fd, size)


def _fsync_path(path: Path) -> None:
    """Flush the file or folder at `path` to disk (a folder: its entries)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
