"""Writing a request body to storage while it arrives: the one loop every upload path uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio import to_thread

from lfp.errors import InsufficientStorage, LfpError
from lfp.storage import PartWriter, StorageFull

# Bytes gathered from the request before one hop to a worker thread writes them: big
# enough that thread hops cost nothing, small enough that parallel requests stay cheap.
WRITE_BLOCK = 1 << 20


@dataclass
class Progress:
    """Bytes of a body already written to storage; right even if the writing is cancelled."""

    written: int = 0


class BodyCut(Exception):
    """The client's connection closed before the body ended.

    Raised by the HTTP layer's body iterator; `write_body` re-raises it with `received`
    set to the bytes that arrived (and were written) before the cut.
    """

    def __init__(self, received: int = 0) -> None:
        super().__init__(f"the body was cut off after {received} bytes")
        self.received = received


async def write_body(
    body: AsyncIterator[bytes],
    writer: PartWriter,
    *,
    max_length: int,
    too_long: Callable[[], LfpError],
    hasher: Any = None,
    renew: Callable[[], None] | None = None,
    renew_every: float = 10.0,
    progress: Progress | None = None,
) -> int:
    """Write (and hash into `hasher`, if any) `body` while it arrives; the byte count.

    Blocks are written by a worker thread while the next block is received, so disk and
    network overlap; at most two blocks per request are held in memory. A body longer than
    `max_length` raises `too_long()`. `renew`, if given, runs in a thread every
    `renew_every` seconds (a lease kept alive while the body streams). `progress`, if
    given, counts the bytes written, so a caller that cancels the writing knows how many
    are on storage.
    """
    loop = asyncio.get_running_loop()
    received = 0
    pending: list[bytes] = []
    pending_size = 0
    in_flight: asyncio.Future[None] | None = None
    next_renewal = loop.time() + renew_every

    def write(blocks: list[bytes]) -> None:
        if hasher is not None:
            for block in blocks:
                hasher.update(block)
        writer.write(blocks)
        if progress is not None:
            progress.written += sum(len(block) for block in blocks)

    async def flush() -> None:
        nonlocal in_flight, pending, pending_size
        if in_flight is not None:
            await in_flight
            in_flight = None
        if pending:
            blocks, pending, pending_size = pending, [], 0
            await loop.run_in_executor(None, write, blocks)

    try:
        async for piece in body:
            received += len(piece)
            if received > max_length:
                raise too_long()
            pending.append(piece)
            pending_size += len(piece)
            if pending_size >= WRITE_BLOCK:
                if in_flight is not None:
                    await in_flight
                in_flight = loop.run_in_executor(None, write, pending)
                pending, pending_size = [], 0
            if renew is not None and loop.time() >= next_renewal:
                await to_thread.run_sync(renew)
                next_renewal = loop.time() + renew_every
        await flush()
    except BodyCut:
        # What arrived is written in full, so a caller that keeps partial bodies may.
        with anyio.CancelScope(shield=True):
            await flush()
        raise BodyCut(received) from None
    except StorageFull as exc:
        raise InsufficientStorage(str(exc)) from exc
    finally:
        if in_flight is not None:  # never let the writer close under a running write
            with anyio.CancelScope(shield=True):
                await asyncio.wait([in_flight])
    return received
