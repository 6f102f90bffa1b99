"""The sha-256 of a file on disk, read in large blocks: what uploads declare and downloads
check against the server's."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

BLOCK = 8 << 20


def file_sha256(path: Path, on_block: Callable[[int], None] | None = None) -> str:
    """The hex sha-256 of the file at `path`; `on_block` gets each block's byte count."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            hasher.update(block)
            if on_block:
                on_block(len(block))
    return hasher.hexdigest()
