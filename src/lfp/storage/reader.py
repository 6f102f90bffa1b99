"""A blob opened as a read-only, seekable binary file, streamed from its store.

For readers that want a file object (a CSV reader, DuckDB through fsspec, a hash loop)
over a store without local files: reading on from where the last read ended continues
one streamed request, and a seek starts a new ranged one, so a sequential pass over an
S3 object is a single GET and no byte goes to disk.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from lfp.storage.base import BlobStore

# Bytes asked of the store per block, and what the buffered file holds between reads.
READ_BLOCK = 4 << 20


class BlobReader(io.RawIOBase):
    """The bytes of one blob of known size, as a raw file; see `open_blob`."""

    def __init__(self, store: BlobStore, key: str, size: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._size = size
        self._position = 0
        self._stream: Iterator[bytes] | None = None
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        """Always: the blob is there to be read."""
        return True

    def seekable(self) -> bool:
        """Always: a seek starts a ranged read."""
        return True

    def tell(self) -> int:
        """Where the next read starts."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to `offset` (from the start, the current position or the end)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self._position:
            self._drop_stream()
            self._position = position
        return position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill `buffer` with the next bytes (fewer at the end); 0 at the end."""
        if self._position >= self._size:
            return 0
        if not self._pending:
            if self._stream is None:
                self._stream = self._store.read(
                    self._key, self._position, self._size, block_size=READ_BLOCK
                )
            block = next(self._stream, b"")
            if not block:
                raise OSError(
                    f"{self._key} ended at byte {self._position} of {self._size}: "
                    "the blob is shorter than recorded"
                )
            self._pending = memoryview(block)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._position += count
        return count

    def close(self) -> None:
        """Release the open request, if any."""
        self._drop_stream()
        super().close()

    def _drop_stream(self) -> None:
        if self._stream is not None:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()  # a generator's close runs the store's cleanup (closes the body)
        self._stream = None
        self._pending = memoryview(b"")


def open_blob(store: BlobStore, key: str, size: int) -> io.BufferedReader:
    """`key` (of `size` bytes) as a buffered, seekable binary file streamed from `store`."""
    return io.BufferedReader(BlobReader(store, key, size), buffer_size=READ_BLOCK)
