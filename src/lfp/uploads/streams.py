"""Async byte-stream utilities for the upload service."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def split_stream(
    source: AsyncIterator[bytes], chunk_size: int
) -> AsyncIterator[AsyncIterator[bytes]]:
    """Cut a byte stream into consecutive sub-streams of `chunk_size` bytes (the last shorter).

    Each sub-stream must be read to its end before the next one is taken.
    """
    leftover = b""
    exhausted = False

    async def fill() -> bool:
        nonlocal leftover, exhausted
        while not leftover and not exhausted:
            try:
                leftover = await anext(source)
            except StopAsyncIteration:
                exhausted = True
        return bool(leftover)

    async def one_chunk() -> AsyncIterator[bytes]:
        nonlocal leftover
        remaining = chunk_size
        while remaining and await fill():
            piece, leftover = leftover[:remaining], leftover[remaining:]
            remaining -= len(piece)
            yield piece

    while await fill():
        yield one_chunk()
