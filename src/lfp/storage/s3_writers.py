"""The writers of S3 staging blobs: chunks as parts, tus appends as parts plus a tail piece.

Each spools one part to a temporary file (on local disk, never in memory whole) so the SDK
can sign, checksum and retry it with a known length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

from lfp.storage.base import StorageError, StoreLimits


class PartSink(Protocol):
    """What the writers need of the S3 store."""

    limits: StoreLimits
    spool_dir: Path | None

    def upload_part(self, loc: S3Location, number: int, spool: Spool) -> str:
        """Send `spool` as part `number`."""

    def put_object(self, key: str, spool: Spool) -> None:
        """Store `spool` as the object `key`."""

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream an object."""


class S3Location:
    """A staging reference taken apart: `key#part_size#upload_id`."""

    def __init__(self, ref: str) -> None:
        self.key, _, rest = ref.partition("#")
        part_size, _, self.upload_id = rest.partition("#")
        self.part_size = int(part_size) if part_size else 0

    def piece(self, start: int, end: int) -> str:
        """The key of the piece holding bytes `[start, end)` of the blob."""
        return f"{self.pieces}{start:016d}-{end:016d}"

    @property
    def pieces(self) -> str:
        """The prefix of the blob's pieces."""
        return f"{self.key}.pieces/"


class Spool:
    """One part's bytes on local disk, to be sent with a known length."""

    def __init__(self, directory: Path | None) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by close())
        self.length = 0

    def write(self, data: bytes | memoryview) -> None:
        self.file.write(data)
        self.length += len(data)

    def rewound(self) -> IO[bytes]:
        self.file.flush()
        self.file.seek(0)
        return self.file

    def reset(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.length = 0

    def close(self) -> None:
        self.file.close()


class S3PartWriter:
    """Spools one indexed chunk; `commit` sends it as a part, or as a piece when small."""

    def __init__(self, store: PartSink, loc: S3Location, index: int, offset: int, length: int):
        self._store, self._loc, self._index = store, loc, index
        self._offset, self._length = offset, length
        self._spool: Spool | None = Spool(store.spool_dir)

    def _open(self) -> Spool:
        if self._spool is None:
            raise StorageError("the part is already committed or aborted")
        return self._spool

    def write(self, blocks: Sequence[bytes]) -> None:
        """Add `blocks` to the spooled part."""
        spool = self._open()
        if spool.length + sum(len(b) for b in blocks) > self._length:
            raise StorageError("part overflows its declared length")
        for block in blocks:
            spool.write(block)

    def commit(self) -> None:
        """Send the part (or piece); once S3 has answered, it is durable."""
        spool = self._open()
        self._spool = None
        try:
            if spool.length >= self._store.limits.min_part_size:
                self._store.upload_part(self._loc, self._index + 1, spool)
            else:
                piece = self._loc.piece(self._offset, self._offset + spool.length)
                self._store.put_object(piece, spool)
        finally:
            spool.close()

    def abort(self) -> None:
        """Drop the spooled bytes: nothing was sent."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()


class S3AppendWriter:
    """Appends at `offset`: full parts go out as they fill, the rest becomes a piece."""

    def __init__(self, store: PartSink, loc: S3Location, offset: int, max_length: int):
        self._store, self._loc = store, loc
        self._size = loc.part_size
        self._base = offset - offset % self._size
        self._room = max_length
        self._spool: Spool | None = Spool(store.spool_dir)
        if offset > self._base:
            # The bytes since the last full part live in a piece: start the part with them.
            try:
                for block in store.read(loc.piece(self._base, offset)):
                    self._spool.write(block)
            except FileNotFoundError as exc:
                self._spool.close()
                raise StorageError(f"the bytes before offset {offset} are gone") from exc

    def _open(self) -> Spool:
        if self._spool is None:
            raise StorageError("the append is already committed or aborted")
        return self._spool

    def write(self, blocks: Sequence[bytes]) -> None:
        """Add `blocks`, sending each part as soon as it is full."""
        spool = self._open()
        if sum(len(b) for b in blocks) > self._room:
            raise StorageError("append overflows its declared length")
        for block in blocks:
            view = memoryview(block)
            self._room -= len(view)
            while view:
                take = view[: self._size - spool.length]
                spool.write(take)
                view = view[len(take) :]
                if spool.length == self._size:
                    self._store.upload_part(self._loc, self._base // self._size + 1, spool)
                    spool.reset()
                    self._base += self._size

    def commit(self) -> None:
        """Keep what did not fill a part as the piece after the last part."""
        spool = self._open()
        self._spool = None
        try:
            if spool.length:
                piece = self._loc.piece(self._base, self._base + spool.length)
                self._store.put_object(piece, spool)
        finally:
            spool.close()

    def abort(self) -> None:
        """Drop the unsent bytes; parts already sent are rewritten by the next append."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()
