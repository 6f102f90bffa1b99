"""A `BlobStore` held in memory: the upload core's unit tests run on it without a server.

It behaves as `LocalBlobStore` does wherever the protocol defines the behaviour: a
staging blob of known size is reserved (zero-filled) up front, parts are written in place
at their offsets as they arrive (an aborted part leaves its bytes, to be overwritten by a
retry), a part cannot overflow its length, a missing staging blob cannot be opened, keys
are relative paths that cannot climb out of the store, and `put_file` moves the file in.
A `capacity` makes the store fill up, so `StorageFull` can be exercised; `overwrite`
damages a blob behind the service's back. Every method may be called from any thread.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from lfp.storage.base import StorageError, StorageFull, StoreLimits


class MemoryPartWriter:
    """Writes one part straight into its blob, at the next position of the part."""

    def __init__(self, store: MemoryBlobStore, blob: bytearray, offset: int, length: int) -> None:
        self._store = store
        self._blob = blob
        self._position = offset
        self._end = offset + length
        self._closed = False

    def write(self, blocks: Sequence[bytes]) -> None:
        """Write `blocks` at the next position; refused whole if they overflow the part."""
        if self._closed:
            raise StorageError("the part is already committed or aborted")
        total = sum(len(block) for block in blocks)
        if self._position + total > self._end:
            raise StorageError("part overflows its declared length")
        self._store._write(self._blob, self._position, b"".join(blocks))
        self._position += total

    def commit(self) -> None:
        """Close the part: its bytes are already in the blob."""
        if self._closed:
            raise StorageError("the part is already committed or aborted")
        self._closed = True

    def abort(self) -> None:
        """Close the part, leaving what was written to be overwritten; harmless if closed."""
        self._closed = True


class MemoryBlobStore:
    """Blobs as byte arrays in a dictionary, optionally limited to `capacity` bytes in all."""

    limits = StoreLimits()
    reads_staging = True

    def __init__(self, *, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 0:
            raise ValueError("capacity must not be negative")
        self.capacity = capacity
        self._blobs: dict[str, bytearray] = {}
        self._lock = threading.Lock()

    # -- helpers (the caller holds the lock where it says so) -----------------------

    @staticmethod
    def _key(key: str) -> str:
        """`key` in normal form (`a//b/../c` is `a/c`), as the local store's paths resolve."""
        normal = posixpath.normpath(key)
        if normal.startswith("/") or normal in (".", "..") or normal.startswith("../"):
            raise StorageError(f"key {key!r} escapes the store")
        return normal

    def _free_locked(self) -> int | None:
        if self.capacity is None:
            return None
        return max(0, self.capacity - sum(len(blob) for blob in self._blobs.values()))

    def _require_room_locked(self, needed: int, freed: int = 0) -> None:
        """Raise `StorageFull` unless `needed` more bytes fit once `freed` bytes are gone."""
        free = self._free_locked()
        if free is not None and needed > free + freed:
            raise StorageFull(f"no room for {needed} more bytes: {free} are free")

    def _blob(self, key: str) -> bytearray:
        """The blob at `key` (the caller holds the lock)."""
        try:
            return self._blobs[key]
        except KeyError:
            raise StorageError(f"no blob {key!r}") from None

    def _write(self, blob: bytearray, offset: int, data: bytes) -> None:
        """Put `data` at `offset` of `blob`, growing it (holes read as zeros) if room allows."""
        with self._lock:
            self._require_room_locked(max(0, offset + len(data) - len(blob)))
            if offset > len(blob):
                blob.extend(bytes(offset - len(blob)))
            blob[offset : offset + len(data)] = data

    # -- the protocol ----------------------------------------------------------------

    def create_staging(self, key: str, size: int | None, part_size: int = 0) -> str:
        """Create the staging blob, reserving `size` zero bytes so writes cannot run out."""
        key = self._key(key)
        with self._lock:
            blob = self._blobs.get(key, bytearray())
            growth = max(0, (size or 0) - len(blob))
            self._require_room_locked(growth)
            blob.extend(bytes(growth))
            self._blobs[key] = blob
        return key

    def open_part(self, key: str, index: int, offset: int, length: int) -> MemoryPartWriter:
        """A writer for `length` bytes at `offset` of the staging blob."""
        key = self._key(key)
        with self._lock:
            blob = self._blob(key)
        return MemoryPartWriter(self, blob, offset, length)

    def open_append(self, key: str, offset: int, max_length: int) -> MemoryPartWriter:
        """A writer for up to `max_length` bytes at `offset` of the staging blob."""
        return self.open_part(key, 0, offset, max_length)

    def concatenate(self, key: str, sources: Sequence[str], sizes: Sequence[int]) -> None:
        """Replace `key` with a copy of `sources` end to end; on failure `key` is gone."""
        key = self._key(key)
        source_keys = [self._key(source) for source in sources]
        with self._lock:
            self._blobs.pop(key, None)  # replaced, as the local store truncates it first
            joined = b"".join(self._blob(source) for source in source_keys)
            self._require_room_locked(len(joined))
            self._blobs[key] = bytearray(joined)

    def final_key(self, staging_key: str, wanted: str) -> str:
        """`wanted`: publishing moves the blob wherever it is asked to."""
        return wanted

    def publish(self, staging_key: str, final_key: str, size: int) -> None:
        """Move the staging blob to `final_key`, replacing any blob there, in one step."""
        staging_key, final_key = self._key(staging_key), self._key(final_key)
        with self._lock:
            blob = self._blob(staging_key)
            del self._blobs[staging_key]
            self._blobs[final_key] = blob

    def put_file(self, key: str, path: Path) -> None:
        """Take the bytes of the local file at `path` under `key`, and remove the file."""
        key = self._key(key)
        data = path.read_bytes()
        with self._lock:
            old = self._blobs.get(key)
            self._require_room_locked(len(data), freed=len(old) if old is not None else 0)
            self._blobs[key] = bytearray(data)
        path.unlink()

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Yield the bytes of `key` in `[start, end)`, a block at a time.

        Like reading an open file, the blob is looked up on the first block and then read
        as it stands block by block, even if it is published or deleted meanwhile.
        """
        key = self._key(key)
        with self._lock:
            blob = self._blob(key)
        position = start
        while True:
            with self._lock:
                stop = len(blob) if end is None else min(end, len(blob))
                block = bytes(blob[position : min(position + block_size, stop)])
            if not block:
                return
            position += len(block)
            yield block

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        key = self._key(key)
        with self._lock:
            return key in self._blobs

    def delete(self, key: str) -> None:
        """Remove the blob under `key`, if any."""
        key = self._key(key)
        with self._lock:
            self._blobs.pop(key, None)

    def free_space(self) -> int | None:
        """Bytes left of `capacity`, or None when the store is unlimited."""
        with self._lock:
            return self._free_locked()

    def local_path(self, key: str) -> Path | None:
        """None: no blob of this store is a local file."""
        return None

    def check(self) -> None:
        """Nothing to check: memory is always there."""

    # -- for tests -------------------------------------------------------------------

    def overwrite(self, key: str, offset: int, data: bytes) -> None:
        """Replace bytes of blob `key` at `offset` with `data`, ignoring any writer or lock.

        For tests only: it simulates damage done behind the service's back (a bad disk,
        another program), so tests can check that verification or re-reads notice. The
        blob keeps its length: `data` must lie within it.
        """
        key = self._key(key)
        with self._lock:
            blob = self._blob(key)
            if offset < 0 or offset + len(data) > len(blob):
                raise ValueError(
                    f"{len(data)} bytes at {offset} do not lie within the {len(blob)} of {key!r}"
                )
            blob[offset : offset + len(data)] = data
