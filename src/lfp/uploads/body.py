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
    pipeline = _Pipeline(target, written if written is not None else Written())
    received = 0
    try:
        async for piece in body:
            received += len(piece)
            if received > target.max_length:
                raise target.too_long()
            await pipeline.add(piece)
        await pipeline.flush()
    except BodyCut:
        # What arrived is written in full, so a caller that keeps partial bodies may.
        with anyio.CancelScope(shield=True):
            await pipeline.flush()
        raise BodyCut(received) from None
    except StorageFull as exc:
        raise InsufficientStorage(str(exc)) from exc
    finally:
        await pipeline.settle()
    return received


class _Pipeline:
    """Gathers a body's pieces into blocks, each written by a worker thread while the
    next one arrives."""

    def __init__(self, target: BodyTarget, written: Written) -> None:
        self._target = target
        self._written = written
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._in_flight: asyncio.Future[None] | None = None

    async def add(self, piece: bytes) -> None:
        """Take the next piece; once a block is gathered, start writing it."""
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size >= WRITE_BLOCK:
            await self._start()

    async def flush(self) -> None:
        """Write what is gathered and wait until every write has ended."""
        await self._start()
        await self._wait()

    async def settle(self) -> None:
        """Wait for a write still running (never let the writer close under it)."""
        in_flight = self._in_flight
        if in_flight is not None:
            with anyio.CancelScope(shield=True):
                await asyncio.wait([in_flight])
            if not in_flight.cancelled():
                in_flight.exception()  # seen here: an error already on its way is enough

    async def _start(self) -> None:
        await self._wait()
        if self._pending:
            blocks, self._pending, self._pending_size = self._pending, [], 0
            loop = asyncio.get_running_loop()
            self._in_flight = loop.run_in_executor(None, self._write, blocks)

    async def _wait(self) -> None:
        if self._in_flight is not None:
            # Shielded: a cancelled request must not forget a write its thread still runs.
            await asyncio.shield(self._in_flight)
            self._in_flight = None

    def _write(self, blocks: list[bytes]) -> None:
        target = self._target
        if target.guard is not None:
            target.guard()
        for hasher in target.hashers:
            for block in blocks:
                hasher.update(block)
        target.writer.write(blocks)
        self._written.count += sum(len(block) for block in blocks)
