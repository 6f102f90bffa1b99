"""Splitting a byte stream into chunks, and digesting blocks in one pass."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from lfp.digests import digest_blocks
from lfp.uploads.streams import split_stream


async def _pieces(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _split(pieces: list[bytes], chunk_size: int) -> list[bytes]:
    chunks = []
    async for chunk in split_stream(_pieces(pieces), chunk_size):
        chunks.append(b"".join([p async for p in chunk]))
    return chunks


@given(st.lists(st.binary(max_size=50), max_size=20), st.integers(1, 64))
def test_split_stream_cuts_at_chunk_boundaries(pieces: list[bytes], chunk_size: int) -> None:
    data = b"".join(pieces)
    chunks = asyncio.run(_split(pieces, chunk_size))
    assert b"".join(chunks) == data
    assert all(len(c) == chunk_size for c in chunks[:-1])
    assert len(chunks) == -(-len(data) // chunk_size)


@given(st.lists(st.binary(max_size=100), max_size=10))
def test_digest_blocks_matches_hashlib(blocks: list[bytes]) -> None:
    data = b"".join(blocks)
    digests = digest_blocks(blocks, ["sha256", "md5", "sha1"])
    assert digests == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
    }
