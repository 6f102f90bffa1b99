"""Writing a request body to storage while it arrives: the one loop every upload path uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import anyio

from lfp.digests import Hasher
from lfp.errors import BodyCut, InsufficientStorage, LfpError
from lfp.storage import PartWriter, StorageFull

# Bytes gathered from the request before one hop to a worker thread writes them: big
# enough that thread hops cost nothing, small enough that parallel requests stay cheap.
WRITE_BLOCK = 1 << 20


@dataclass
class Written:
    """Bytes of a body already written to storage; right even if the writing is cancelled."""

    count: int = 0


@dataclass(frozen=True)
class BodyTarget:
    """Where a body goes and what watches it on the way.

    `max_length` bounds the body (`too_long()` is raised past it); each hasher sees every
    byte written; `guard`, if given, runs in the writing thread before each write and
    raises to stop it (a writer that lost its lease must not write again).
    """

    writer: PartWriter
    max_length: int
    too_long: Callable[[], LfpError]
    hashers: Sequence[Hasher] = ()
    guard: Callable[[], None] | None = None


async def write_body(
    body: AsyncIterator[bytes], target: BodyTarget, written: Written | None = None
) -> int:
    """Write (and hash) `body` into `target` while it arrives; the byte count.

    Blocks are written by a worker thread while the next block is received, so disk and
    network overlap; at most two blocks per request are held in memory. `written`, if
    given, counts the bytes on storage, so a caller that cancels the writing knows them.
    A cut connection raises `BodyCut` carrying the bytes that arrived, all written.
    """
    loop = asyncio.get_running_loop()
    written = written if written is not None else Written()
    received = 0
    pending: list[bytes] = []
    pending_size = 0
    in_flight: asyncio.Future[None] | None = None

    def write(blocks: list[bytes]) -> None:
        if target.guard is not None:
            target.guard()
        for hasher in target.hashers:
            for block in blocks:
                hasher.update(block)
        target.writer.write(blocks)
        written.count += sum(len(block) for block in blocks)

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
            if received > target.max_length:
                raise target.too_long()
            pending.append(piece)
            pending_size += len(piece)
            if pending_size >= WRITE_BLOCK:
                if in_flight is not None:
                    await in_flight
                in_flight = loop.run_in_executor(None, write, pending)
                pending, pending_size = [], 0
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
