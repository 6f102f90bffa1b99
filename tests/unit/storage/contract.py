"""What the `BlobStore` contract tests share: reading, writing and publishing blobs as the
upload core does, so that every case holds on every store.

Blobs are named by the reference `create_staging` returns, a blob is published at
`final_key(reference, wanted)`, and the bytes are read back from the published blob.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lfp.storage import (
    BlobStore,
    StorageError,
)

if TYPE_CHECKING:
    pass

# Reading a blob that is not there fails; the protocol does not yet say with which error
# (the local store lets the file system's FileNotFoundError through).
MISSING = (StorageError, FileNotFoundError)


def content(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of `key` in `[start, end)`."""
    return b"".join(store.read(key, start, end))


def write_part(
    store: BlobStore, ref: str, offset: int, blocks: Sequence[bytes], index: int = 0
) -> None:
    """Write and commit part `index`, exactly `blocks`, at `offset` of staging `ref`."""
    part = store.open_part(ref, index, offset, sum(len(block) for block in blocks))
    part.write(blocks)
    part.commit()


def append(store: BlobStore, ref: str, offset: int, blocks: Sequence[bytes], room: int) -> None:
    """Append and commit `blocks` at `offset` of staging `ref`, with `room` bytes allowed."""
    writer = store.open_append(ref, offset, room)
    writer.write(blocks)
    writer.commit()


def staged(store: BlobStore, key: str, data: bytes, *, sized: bool = True) -> str:
    """Create staging blob `key` holding `data`, written as one part; its reference."""
    ref = store.create_staging(key, len(data) if sized else None)
    write_part(store, ref, 0, [data])
    return ref


def publish(store: BlobStore, ref: str, size: int, wanted: str | None = None) -> str:
    """Publish the first `size` bytes of staging `ref`; the key the blob is then read at.

    `wanted` is where the blob goes on a store that moves blobs (a new key if None).
    """
    key = store.final_key(ref, wanted or f"files/{uuid.uuid4().hex}")
    store.publish(ref, key, size)
    return key


def stored(store: BlobStore, key: str, data: bytes) -> str:
    """A published blob holding `data`, staged at `key`; the key to read it at."""
    return publish(store, staged(store, key, data), len(data))


def readable(store: BlobStore, ref: str, size: int, read_from: str) -> str:
    """The key to read the first `size` bytes of staging `ref` at (see `read_from`)."""
    return ref if read_from == "staging" else publish(store, ref, size)


def gone(store: BlobStore, key: str) -> str:
    """The reference of a staging blob that was created, then deleted."""
    ref = store.create_staging(key, 4)
    store.delete(ref)
    return ref
