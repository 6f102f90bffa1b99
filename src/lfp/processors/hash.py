"""The `hash` processor: several digests of a file in one read pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import blake3
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lfp.digests import Hasher, digest_blocks, new_hasher
from lfp.processors.base import JobContext, Processor

Algorithm = Literal["md5", "sha1", "sha256", "sha512", "blake2b", "blake3"]
READ_BLOCK = 4 << 20


class HashParams(BaseModel):
    """Which digests to compute."""

    model_config = ConfigDict(extra="forbid")

    algorithms: list[Algorithm] = Field(
        default=["sha256"],
        min_length=1,
        description="Digests to compute, all in the same read pass.",
        examples=[["md5", "sha256"]],
    )

    @field_validator("algorithms")
    @classmethod
    def _unique(cls, value: list[Algorithm]) -> list[Algorithm]:
        return list(dict.fromkeys(value))


def _hasher(algorithm: str) -> Hasher:
    if algorithm == "blake3":
        return blake3.blake3()
    return new_hasher(algorithm)


class HashProcessor(Processor):
    """Hex digests of the file; the algorithms run concurrently over one read."""

    name = "hash"
    description = "Digests of the file (md5, sha1, sha256, sha512, blake2b, blake3) in one pass."
    Params = HashParams

    def run(self, job: JobContext, params: HashParams) -> dict[str, Any]:
        """Digest the input with every requested algorithm; writes `checksums.txt` too."""
        done = 0

        def counted(size: int) -> None:
            nonlocal done
            done += size
            job.progress(done, job.input_size)

        digests = digest_blocks(
            _blocks(job), params.algorithms, factory=_hasher, on_progress=counted
        )
        # The BSD layout of `sha256sum --tag` and friends, one line per algorithm.
        lines = [f"{name.upper()} ({job.filename}) = {value}\n" for name, value in digests.items()]
        job.output("checksums.txt", "text/plain").write_text("".join(lines), encoding="utf-8")
        return {"size": job.input_size, "digests": digests}


def _blocks(job: JobContext) -> Iterator[bytes]:
    with job.open_input() as source:
        while block := source.read(READ_BLOCK):
            job.check_cancelled()
            yield block
