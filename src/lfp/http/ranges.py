"""HTTP Range requests (RFC 9110 section 14): one byte range of a known-size blob, parsed
and answered as a streamed 200, 206 or 416."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Response, status
from fastapi.responses import StreamingResponse

from lfp.http.problems import HttpProblem

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


def ranged_response(
    read: Callable[[int, int], Iterator[bytes]],
    size: int,
    *,
    media_type: str,
    headers: dict[str, str],
    range_header: str | None,
) -> Response:
    """200 with all `size` bytes, or 206 with the requested range; 416 outside the blob.

    `read(start, end)` yields the bytes in `[start, end)`.
    """
    headers = {**headers, "Accept-Ranges": "bytes"}
    try:
        byte_range = parse_range(range_header, size)
    except Unsatisfiable:
        raise HttpProblem(
            416,
            f"the range {range_header} lies outside the {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
    if byte_range is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(read(0, size), media_type=media_type, headers=headers)
    headers["Content-Range"] = byte_range.content_range(size)
    headers["Content-Length"] = str(byte_range.length)
    return StreamingResponse(
        read(byte_range.start, byte_range.end + 1),
        status_code=status.HTTP_206_PARTIAL_CONTENT,
        media_type=media_type,
        headers=headers,
    )
