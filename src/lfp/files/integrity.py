"""The check that a file holds exactly the bytes that were acknowledged, range by range.

Every stored chunk (or append) is recorded with the sha-256 of the bytes the server wrote.
Verification hashes the same ranges of the finished file again; a range whose bytes differ
(a writer that lost its lease and still wrote, a disk that lied) is caught before the file
is published, and its upload is asked to take those bytes again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RecordedRange:
    """`size` bytes at `start` of a file, acknowledged with the sha-256 `sha256` (hex)."""

    index: int
    start: int
    size: int
    sha256: str


@dataclass(frozen=True)
class Reopened:
    """What became of an upload whose file held damaged ranges: why the file failed, and
    whether its bytes stay, for the upload to go on with."""

    error: str
    keep_bytes: bool


class RecordedRanges(Protocol):
    """Where verification learns a file's acknowledged ranges, and hands back damage."""

    def ranges(self, file_id: uuid.UUID) -> Sequence[RecordedRange]:
        """The ranges acknowledged for `file_id`, by start (none for files without any)."""

    def reopen(
        self,
        session: Session,
        file_id: uuid.UUID,
        damaged: Sequence[RecordedRange],
        *,
        staging_kept: bool = True,
    ) -> Reopened:
        """In the caller's transaction: let the upload of `file_id` take `damaged` again
        (or give it up when its staging blob is already published: `staging_kept` False)."""


@dataclass
class RangeChecker:
    """Checks each recorded range as the file streams by (a sink for `digest_blocks`).

    Fed the file's bytes in order from offset 0, it collects in `damaged` every range whose
    bytes do not have the recorded sha-256; `finish` adds those the file ended before.
    """

    ranges: Sequence[RecordedRange]
    damaged: list[RecordedRange] = field(default_factory=list)
    _next: int = 0
    _position: int = 0
    _hasher: hashlib._Hash | None = None

    def update(self, data: bytes, /) -> None:
        """Feed the next bytes of the file."""
        view = memoryview(data)
        start, end = self._position, self._position + len(view)
        while self._next < len(self.ranges):
            current = self.ranges[self._next]
            current_end = current.start + current.size
            if current.start >= end:
                break
            low, high = max(current.start, start), min(current_end, end)
            if high > low:
                self._hasher = self._hasher or hashlib.sha256()
                self._hasher.update(view[low - start : high - start])
            if current_end > end:
                break
            self._close(current)
        self._position = end

    def _close(self, current: RecordedRange) -> None:
        digest = (self._hasher or hashlib.sha256()).hexdigest()
        if digest != current.sha256:
            self.damaged.append(current)
        self._hasher = None
        self._next += 1

    def finish(self) -> list[RecordedRange]:
        """End of the file: ranges it never reached in full are damaged too; all damaged."""
        self.damaged.extend(self.ranges[self._next :])
        self._next = len(self.ranges)
        return self.damaged
