"""What a client declares when it starts an upload, checked the same way on every path.

Creating an upload, linking one to bytes already held (`lfp.uploads.dedup`) and checking
one before sending anything (`POST /uploads/check`) refuse the same declarations with the
same errors: an unknown processor or bad params, a file larger than the server accepts, a
chunk size outside its bounds or too many chunks for the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lfp.config import Settings
from lfp.errors import TooLarge, Unprocessable
from lfp.storage import StoreLimits
from lfp.uploads.rules import check_chunk_size, check_part_count, default_chunk_size


class ParamsCheck(Protocol):
    """What checking a declaration needs of the jobs service."""

    def validate(self, processor: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` checked for `processor`; `Unprocessable` when either is wrong."""


@dataclass(frozen=True)
class Declared:
    """A declaration once checked: the params as the job will run with them, and the
    chunk size the upload uses (the client's, or the server's choice)."""

    params: dict[str, Any] | None
    chunk_size: int


def check_declared(
    settings: Settings,
    limits: StoreLimits,
    jobs: ParamsCheck,
    *,
    processor: str | None,
    params: dict[str, Any] | None,
    size: int | None,
    chunk_size: int | None,
    min_chunk_size: int | None = None,
) -> Declared:
    """The declaration checked; the domain error saying what is wrong otherwise."""
    if processor is not None:
        # Checked now, so a bad job is refused before gigabytes are sent, not after.
        params = jobs.validate(processor, params)
    elif params:
        raise Unprocessable("params were given without a processor to run")
    if size is not None and size > settings.max_upload_size:
        raise TooLarge(
            f"{size} bytes is more than this server accepts ({settings.max_upload_size})"
        )
    chunk_size = chunk_size or default_chunk_size(settings, limits, size)
    check_chunk_size(settings, size, chunk_size, min_chunk_size)
    check_part_count(settings, limits, size, chunk_size)
    return Declared(params, chunk_size)
