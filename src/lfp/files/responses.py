"""Streaming a stored blob as an HTTP response, honouring one byte Range."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Response, status
from fastapi.responses import StreamingResponse

from lfp.errors import RangeNotSatisfiable
from lfp.files.ranges import Unsatisfiable, parse_range


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
        raise RangeNotSatisfiable(
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
