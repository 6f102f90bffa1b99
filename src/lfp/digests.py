"""Digests of byte streams: several algorithms over one read pass, computed concurrently."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

_END = b""


class Sink(Protocol):
    """Something fed a stream's bytes in order (a hash object, a checker of ranges)."""

    def update(self, data: bytes, /) -> Any: ...


class Hasher(Protocol):
    """What lfp needs of a hash object (hashlib's and blake3's both fit)."""

    def update(self, data: bytes, /) -> Any:
        """Feed `data`, the next bytes of the stream."""

    def hexdigest(self) -> str:
        """The digest of every byte fed so far, in hex."""


def new_hasher(algorithm: str) -> Hasher:
    """A fresh hash object for `algorithm` (any name hashlib knows)."""
    return hashlib.new(algorithm)


def digest_blocks(
    blocks: Iterable[bytes],
    algorithms: Sequence[str],
    *,
    factory: Callable[[str], Hasher] = new_hasher,
    on_progress: Callable[[int], None] | None = None,
    also: Sequence[Sink] = (),
) -> dict[str, str]:
    """Hex digests of the concatenated `blocks` for each algorithm, in one pass.

    Each algorithm runs in its own thread (hashlib releases the GIL on large updates), so
    the pass takes about as long as the slowest algorithm alone, not the sum of them all.
    The sinks in `also` are fed the same blocks, each in a thread of its own too.
    """
    hashers = {name: factory(name) for name in algorithms}
    sinks: list[Sink] = [*hashers.values(), *also]
    if len(sinks) == 1:
        for block in blocks:
            sinks[0].update(block)
            if on_progress:
                on_progress(len(block))
        return {name: h.hexdigest() for name, h in hashers.items()}

    queues: list[queue.Queue[bytes]] = [queue.Queue(maxsize=2) for _ in sinks]
    errors: list[BaseException] = []

    def run(hasher: Sink, inbox: queue.Queue[bytes]) -> None:
        """Feed `hasher` the blocks from `inbox` until the end marker (one thread each)."""
        try:
            while (block := inbox.get()) is not _END:
                hasher.update(block)
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)
            while inbox.get() is not _END:  # keep draining so the reader never blocks
                pass

    threads = [
        threading.Thread(target=run, args=(h, q), daemon=True)
        for h, q in zip(sinks, queues, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        for block in blocks:
            if not block:
                continue
            for inbox in queues:
                inbox.put(block)
            if on_progress:
                on_progress(len(block))
    finally:
        for inbox in queues:
            inbox.put(_END)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return {name: h.hexdigest() for name, h in hashers.items()}
