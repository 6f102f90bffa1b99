"""The `BlobStore` protocol: what the upload and file services need from any storage.

Uploads are written as parts at known offsets into a staging blob (locally: one preallocated
file; on S3: one multipart upload), then published under their final key in one atomic
step. Every method is blocking and meant to run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StorageError(Exception):
    """The store failed to do what was asked."""


class StorageFull(StorageError):
    """The store has no room for the bytes."""


@dataclass(frozen=True)
class StoreLimits:
    """What a store can hold: the upload service sizes chunks to fit these.

    `min_part_size` is the smallest part but the last (S3: 5 MiB; smaller chunks are held
    aside and joined when the upload is published), `max_parts` the most parts one blob may
    have, `max_object_size` the largest blob. None: no limit.
    """

    min_part_size: int = 1
    max_parts: int | None = None
    max_object_size: int | None = None


class PartWriter(Protocol):
    """Receives the bytes of one part, in order, and makes them durable on `commit`."""

    def write(self, blocks: Sequence[bytes]) -> None:
        """Append `blocks`, in order, to the part."""

    def commit(self) -> None:
        """Make every written byte durable; the part is then stored."""

    def abort(self) -> None:
        """Give up the part; what was written may be overwritten later."""


class BlobStore(Protocol):
    """Where lfp keeps bytes: staging blobs receiving parts, and published blobs."""

    # The limits the upload service sizes chunks by.
    limits: StoreLimits
    # Whether a staging blob can be read before it is published (S3 cannot read an
    # unfinished multipart upload, so it publishes first and verifies the result).
    reads_staging: bool

    def create_staging(self, key: str, size: int | None, part_size: int = 0) -> str:
        """Prepare `key` to receive parts of `part_size` bytes; reserve `size` when known.

        Returns the staging reference every later call names the blob by (the key itself,
        or the key with what the store must remember, such as an S3 multipart upload id).
        """

    def open_part(self, key: str, index: int, offset: int, length: int) -> PartWriter:
        """A writer for part `index`, covering `length` bytes at `offset` of staging `key`."""

    def open_append(self, key: str, offset: int, max_length: int) -> PartWriter:
        """A writer appending up to `max_length` bytes at `offset` of staging `key` (tus).

        Unlike a part, an append may stop short: `commit` keeps whatever was written.
        """

    def concatenate(self, key: str, sources: Sequence[str], sizes: Sequence[int]) -> None:
        """Make staging `key` hold the complete staging blobs `sources` (of `sizes` bytes)
        end to end; the sources stay readable until deleted.

        Stores that can share data between blobs (reflinks, server-side copies) do so.
        """

    def final_key(self, staging_key: str, wanted: str) -> str:
        """The key publishing `staging_key` will give the blob: `wanted`, unless the store
        can only publish a staging blob where it already is (S3 multipart uploads)."""

    def publish(self, staging_key: str, final_key: str, size: int) -> None:
        """Atomically make the first `size` bytes of the staging blob readable under
        `final_key` (and the blob gone from staging). Where a blob is published in place
        (`final_key` is the staging blob's own key, as on S3) publishing again is harmless;
        a store that moves the blob raises then, its staging blob being gone."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the local file at `path` under `key` (the file may be moved away)."""

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Yield the bytes of `key` from `start` up to `end` (exclusive; None: to the end)."""

    def exists(self, key: str) -> bool:
        """Whether `key` holds a blob (staging or published)."""

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing blob is not an error."""

    def free_space(self) -> int | None:
        """Bytes still free on the store, or None when it has no meaningful limit."""

    def local_path(self, key: str) -> Path | None:
        """A local file path for `key` when the store has one (lets DuckDB and friends read it)."""

    def check(self) -> None:
        """Raise `StorageError` when the store cannot be used (readiness probe)."""
