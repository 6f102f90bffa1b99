"""`open_blob`: a stored blob read as a seekable file, on each store, S3 included.

What matters to its users (the CSV processors, DuckDB through fsspec, hashing): every
byte comes back in order, a seek lands where it should, a sequential pass is one request
to the store, and a blob shorter than its recorded size is an error, not a silent end.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from lfp.storage import BlobStore, LocalBlobStore, MemoryBlobStore, open_blob
from lfp.storage.reader import READ_BLOCK
from lfp.storage.s3 import S3BlobStore
from tests.s3 import MotoServer

SIZE = 2 * READ_BLOCK + 12_345  # several blocks, the last one short


def _store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    if kind == "local":
        return LocalBlobStore(tmp_path / "store", fsync=False)
    if kind == "memory":
        return MemoryBlobStore()
    moto: MotoServer = request.getfixturevalue("moto")
    return S3BlobStore(moto.new_bucket(), "p", endpoint_url=moto.url, spool_dir=tmp_path / "s")


class CountingStore:
    """A store whose reads are counted (each is one request on S3)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.reads: list[tuple[int, int | None]] = []

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        self.reads.append((start, end))
        return self.inner.read(key, start, end, block_size)


@pytest.fixture(params=["local", "memory", "s3"])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[CountingStore, bytes]:
    """A store holding blob "b" of `SIZE` random bytes, with its reads counted."""
    store = _store(request.param, tmp_path, request)
    data = random.Random(5).randbytes(SIZE)
    source = tmp_path / "source"
    source.write_bytes(data)
    store.put_file("b", source)
    return CountingStore(store), data


def _open(store: CountingStore, size: int = SIZE) -> io.BufferedReader:
    return open_blob(store, "b", size)  # type: ignore[arg-type]


def test_a_sequential_read_returns_every_byte_in_one_request(
    stored: tuple[CountingStore, bytes],
) -> None:
    store, data = stored
    with _open(store) as blob:
        parts = []
        while part := blob.read(1_000_003):  # reads that straddle the store's blocks
            parts.append(part)
    assert b"".join(parts) == data
    assert store.reads == [(0, SIZE)]


def test_lines_are_read_across_block_boundaries(stored: tuple[CountingStore, bytes]) -> None:
    store, data = stored
    with _open(store) as blob:
        assert b"".join(blob) == data  # iteration by line, as the CSV readers do


def test_a_seek_starts_a_ranged_read_where_it_lands(stored: tuple[CountingStore, bytes]) -> None:
    store, data = stored
    with _open(store) as blob:
        assert blob.read(10) == data[:10]
        assert blob.seek(READ_BLOCK + 7) == READ_BLOCK + 7
        assert blob.read(20) == data[READ_BLOCK + 7 : READ_BLOCK + 27]
        assert blob.tell() == READ_BLOCK + 27
        assert blob.seek(-5, io.SEEK_END) == SIZE - 5
        assert blob.read() == data[-5:]
        assert blob.read() == b""
        blob.seek(3)
        assert blob.read(4) == data[3:7]
    assert [start for start, _ in store.reads] == [0, READ_BLOCK + 7, SIZE - 5, 3]


def test_a_blob_shorter_than_recorded_is_an_error(stored: tuple[CountingStore, bytes]) -> None:
    store, _ = stored
    with _open(store, SIZE + 1) as blob, pytest.raises(OSError, match="shorter than recorded"):
        blob.read()


def test_a_negative_seek_is_refused(stored: tuple[CountingStore, bytes]) -> None:
    store, _ = stored
    with _open(store) as blob, pytest.raises(ValueError, match="negative"):
        blob.seek(-1)
