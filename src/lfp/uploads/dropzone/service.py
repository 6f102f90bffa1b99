"""Dropzone.js chunked uploads over the upload service.

Dropzone names a file's upload with its own `dzuuid` and sends fixed-size chunks with
their index, in any order and retried on any non-2xx answer. Each dzuuid maps to one
upload of its owner; a chunk stored twice is a no-op, and the upload completes when the
last missing chunk arrives (or when the app calls finalize from `chunksUploaded`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from lfp.errors import BadRequest, Conflict, NotFound
from lfp.uploads.http_input import parse_count
from lfp.uploads.models import UploadState
from lfp.uploads.schemas import DropzoneOut, UploadOut
from lfp.uploads.service import ProtocolFields, UploadService, chunk_count

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


class DropzoneUploads:
    """Receives Dropzone's chunks into uploads and completes them."""

    def __init__(self, uploads: UploadService) -> None:
        self._uploads = uploads

    async def receive(
        self,
        owner_id: uuid.UUID,
        chunk: DropzoneChunk,
        body: AsyncIterator[bytes],
        *,
        filename: str,
        content_type: str | None,
        processor: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> DropzoneOut:
        """Store one chunk (a retried one harmlessly) and complete the upload if it was the last."""
        upload = await to_thread.run_sync(
            lambda: self._uploads.create(
                owner_id,
                filename=filename,
                size=chunk.total_size,
                chunk_size=chunk.chunk_size,
                content_type=content_type,
                processor=processor,
                params=params,
                protocol=ProtocolFields(
                    client_ref=_ref(chunk.uuid), min_chunk_size=DROPZONE_MIN_CHUNK_SIZE
                ),
            )
        )
        if upload.size != chunk.total_size or upload.chunk_size != chunk.chunk_size:
            raise Conflict(
                f"dzuuid {chunk.uuid} is a file of {upload.size} bytes in chunks of "
                f"{upload.chunk_size}, not {chunk.total_size} in {chunk.chunk_size}"
            )
        if upload.state == UploadState.completed or chunk.total_size == 0:
            # A chunk retried after the upload completed changes nothing: say how it ended.
            async for _ in body:
                pass
        else:
            await self._uploads.put_chunk(owner_id, upload.id, chunk.index, body, length=None)
        return await to_thread.run_sync(self._settle, owner_id, upload.id, False)

    def finalize(self, owner_id: uuid.UUID, dzuuid: str) -> DropzoneOut:
        """Complete the upload of `dzuuid`; 409 naming the chunks still missing."""
        upload = self._uploads.find_by_client_ref(owner_id, _ref(dzuuid))
        if upload is None:
            raise NotFound(f"no Dropzone upload {dzuuid}")
        return self._settle(owner_id, upload.id, True)

    def _settle(self, owner_id: uuid.UUID, upload_id: uuid.UUID, required: bool) -> DropzoneOut:
        upload = self._uploads.get(owner_id, upload_id)
        count = upload.chunk_count or 0
        if upload.state == UploadState.open and (required or len(upload.received) >= count):
            self._uploads.complete(owner_id, upload_id)
            upload = self._uploads.get(owner_id, upload_id)
        elif upload.state not in (UploadState.open, UploadState.completed):
            raise Conflict(f"the upload is {upload.state.value}; send the file again")
        return _out(upload)


def _out(upload: UploadOut) -> DropzoneOut:
    return DropzoneOut(
        upload_id=upload.id,
        received=(upload.chunk_count or 0)
        if upload.state == UploadState.completed
        else len(upload.received),
        chunk_count=upload.chunk_count or 0,
        complete=upload.state == UploadState.completed,
        file_id=upload.file_id,
        job_id=upload.job_id,
    )


def checked_dzuuid(value: str) -> str:
    """A dzuuid as sent, if it can name an upload: 1 to 100 printable characters."""
    ref = value.strip()
    if not 0 < len(ref) <= 100 or not ref.isprintable():
        raise BadRequest("dzuuid must be 1 to 100 printable characters")
    return ref


def _ref(dzuuid: str) -> str:
    return f"dropzone:{checked_dzuuid(dzuuid)}"
