"""Reading what clients send over HTTP: counts, the body's declared length and the body."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from lfp.errors import BadRequest, BodyCut


def parse_count(name: str, value: str) -> int:
    """A non-negative integer a client sent as `name` (a header or a form field)."""
    if not value.strip().isdigit():
        raise BadRequest(f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


def content_length(request: Request) -> int | None:
    """The body length the client declared, if it declared one."""
    value = request.headers.get("content-length")
    return parse_count("Content-Length", value) if value is not None else None


async def body_stream(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a closed connection becomes `BodyCut`."""
    try:
        async for piece in request.stream():
            if piece:
                yield piece
    except ClientDisconnect:
        raise BodyCut() from None
