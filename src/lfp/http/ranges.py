"""HTTP Range requests (RFC 9110 section 14) for one byte range of a known-size file."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(ValueError):
    """The range is valid but starts beyond the end of the file."""


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end` inclusive, as in Content-Range."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The Content-Range header value for this range of a `size`-byte file."""
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range a `Range` header asks of a `size`-byte file.

    None means "send the whole file": no header, a header this server ignores (not bytes,
    syntactically invalid, or several ranges, which RFC 9110 lets a server answer in full).
    Raises `Unsatisfiable` when the one range lies wholly outside the file.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid, so ignored (RFC 9110 14.1.1)
    if start >= size:
        raise Unsatisfiable(header)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))
