"""The writers of S3 staging blobs: chunks as parts, tus appends as parts plus a tail piece.

Each spools one part to a temporary file (on local disk, never in memory whole) so the SDK
can sign, checksum and retry it with a known length.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

from lfp.storage.base import StorageError, StoreLimits


class PartSink(Protocol):
    """What the writers need of the S3 store."""

    limits: StoreLimits
    spool_dir: Path | None

    def upload_part(self, loc: S3Location, number: int, spool: Spool) -> str:
        """Send `spool` as part `number`."""

    def put_piece(self, loc: S3Location, start: int, spool: Spool) -> None:
        """Store `spool` as the piece of the staging blob starting at byte `start`."""

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


class _SpooledWriter(ABC):
    """What both writers share: one spool, open for writing until `commit` or `abort`.

    A subclass names itself in `_kind` (for its errors) and says in `_send` what becomes
    of the spooled bytes at `commit`.
    """

    _kind = "writer"

    def __init__(self, store: PartSink, loc: S3Location, room: int) -> None:
        self._store, self._loc = store, loc
        self._room = room
        self._spool: Spool | None = Spool(store.spool_dir)

    def _open(self) -> Spool:
        if self._spool is None:
            raise StorageError(f"the {self._kind} is already committed or aborted")
        return self._spool

    def _take(self, blocks: Sequence[bytes]) -> Spool:
        """The open spool, once `blocks` are known to fit in the room left."""
        spool = self._open()
        length = sum(len(b) for b in blocks)
        if length > self._room:
            raise StorageError(f"{self._kind} overflows its declared length")
        self._room -= length
        return spool

    @abstractmethod
    def _send(self, spool: Spool) -> None:
        """Send the spooled bytes to S3 (the spool is closed afterwards)."""

    def commit(self) -> None:
        """Send what is spooled; once S3 has answered, it is durable."""
        spool = self._open()
        self._spool = None
        try:
            self._send(spool)
        finally:
            spool.close()

    def abort(self) -> None:
        """Drop the spooled bytes, which were never sent."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()


def fill_parts(spool: Spool, blocks: Iterable[bytes], size: int) -> Iterator[Spool]:
    """Write `blocks` to `spool`, yielding it each time it holds `size` bytes.

    The consumer sends the full spool; it is emptied when the loop goes on. What does not
    fill a part is left in `spool`.
    """
    for block in blocks:
        view = memoryview(block)
        while view:
            take = view[: size - spool.length]
            spool.write(take)
            view = view[len(take) :]
            if spool.length == size:
                yield spool
                spool.reset()


class S3PartWriter(_SpooledWriter):
    """Spools one indexed chunk; `commit` sends it as a part, or as a piece when small."""

    _kind = "part"

    def __init__(self, store: PartSink, loc: S3Location, index: int, offset: int, length: int):
        super().__init__(store, loc, length)
        self._index, self._offset = index, offset

    def write(self, blocks: Sequence[bytes]) -> None:
        """Add `blocks` to the spooled part."""
        spool = self._take(blocks)
        for block in blocks:
            spool.write(block)

    def _send(self, spool: Spool) -> None:
        if spool.length >= self._store.limits.min_part_size:
            self._store.upload_part(self._loc, self._index + 1, spool)
        else:
            self._store.put_piece(self._loc, self._offset, spool)


class S3AppendWriter(_SpooledWriter):
    """Appends at `offset`: full parts go out as they fill, the rest becomes a piece.

    `abort` drops only the unsent bytes; parts already sent are rewritten by the next append.
    """

    _kind = "append"

    def __init__(self, store: PartSink, loc: S3Location, offset: int, max_length: int):
        super().__init__(store, loc, max_length)
        self._size = loc.part_size
        self._base = offset - offset % self._size
        if offset > self._base:
            # The bytes since the last full part live in a piece: start the part with them.
            spool = self._open()
            try:
                for block in store.read(loc.piece(self._base, offset)):
                    spool.write(block)
            except FileNotFoundError as exc:
                spool.close()
                raise StorageError(f"the bytes before offset {offset} are gone") from exc

    def write(self, blocks: Sequence[bytes]) -> None:
        """Add `blocks`, sending each part as soon as it is full."""
        for full in fill_parts(self._take(blocks), blocks, self._size):
            self._store.upload_part(self._loc, self._base // self._size + 1, full)
            self._base += self._size

    def _send(self, spool: Spool) -> None:
        """Keep what did not fill a part as the piece after the last part."""
        if spool.length:
            self._store.put_piece(self._loc, self._base, spool)
