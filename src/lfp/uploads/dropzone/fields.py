"""Dropzone.js's chunk form fields, parsed and checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lfp.errors import BadRequest
from lfp.http.body import parse_count
from lfp.uploads.views import chunk_count

# Dropzone's default chunk is 2,000,000 bytes, below the native API's 5 MiB floor; this
# lower floor admits it (and 1 MB chunks) while still bounding chunks per file.
DROPZONE_MIN_CHUNK_SIZE = 64 * 1024
CHUNK_FIELDS = (
    "dzuuid",
    "dzchunkindex",
    "dztotalchunkcount",
    "dzchunkbyteoffset",
    "dzchunksize",
    "dztotalfilesize",
)


@dataclass(frozen=True)
class DropzoneChunk:
    """One chunk's fields as Dropzone sends them."""

    uuid: str
    index: int
    total_chunks: int
    byte_offset: int
    chunk_size: int
    total_size: int

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DropzoneChunk | None:
        """The chunk the form fields describe; None for a file Dropzone sent unchunked."""
        present = [name for name in CHUNK_FIELDS if name in fields]
        if not present:
            return None
        missing = [name for name in CHUNK_FIELDS if name not in fields]
        if missing:
            raise BadRequest(
                f"chunk fields {', '.join(missing)} are missing (they must come before the "
                "`file` part)"
            )
        ref = checked_dzuuid(fields["dzuuid"])
        numbers = {name: parse_count(name, fields[name]) for name in CHUNK_FIELDS[1:]}
        chunk = cls(
            uuid=ref,
            index=numbers["dzchunkindex"],
            total_chunks=numbers["dztotalchunkcount"],
            byte_offset=numbers["dzchunkbyteoffset"],
            chunk_size=numbers["dzchunksize"],
            total_size=numbers["dztotalfilesize"],
        )
        chunk._check()
        return chunk

    def _check(self) -> None:
        if self.chunk_size == 0:
            raise BadRequest("dzchunksize must be positive")
        expected = chunk_count(self.total_size, self.chunk_size)
        if self.total_chunks != expected and not (self.total_size == 0 and self.total_chunks == 1):
            raise BadRequest(
                f"dztotalchunkcount {self.total_chunks} does not fit a file of "
                f"{self.total_size} bytes in chunks of {self.chunk_size} (expected {expected})"
            )
        if not 0 <= self.index < max(self.total_chunks, 1):
            raise BadRequest(
                f"dzchunkindex {self.index} is out of range 0..{max(self.total_chunks, 1) - 1}"
            )
        if self.byte_offset != self.index * self.chunk_size:
            raise BadRequest(
                f"dzchunkbyteoffset {self.byte_offset} is not dzchunkindex x dzchunksize "
                f"({self.index * self.chunk_size})"
            )


def checked_dzuuid(value: str) -> str:
    """A dzuuid as sent, if it can name an upload: 1 to 100 printable characters."""
    ref = value.strip()
    if not 0 < len(ref) <= 100 or not ref.isprintable():
        raise BadRequest("dzuuid must be 1 to 100 printable characters")
    return ref
