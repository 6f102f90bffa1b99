"""Dropzone.js chunked uploads over the upload service.

Dropzone names a file's upload with its own `dzuuid` and sends fixed-size chunks with
their index, in any order and retried on any non-2xx answer. Each dzuuid maps to one
upload of its owner; a chunk stored twice is a no-op, and the upload completes when the
last missing chunk arrives (or when the app calls finalize from `chunksUploaded`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from anyio import to_thread

from lfp.errors import Conflict, NotFound
from lfp.uploads.chunks import ChunkReceiver
from lfp.uploads.dropzone.fields import DROPZONE_MIN_CHUNK_SIZE, DropzoneChunk, checked_dzuuid
from lfp.uploads.lifecycle import Description, ProtocolFields, UploadLifecycle
from lfp.uploads.models import UploadState
from lfp.uploads.schemas import DropzoneOut, UploadOut


class DropzoneUploads:
    """Receives Dropzone's chunks into uploads and completes them."""

    def __init__(self, lifecycle: UploadLifecycle, chunks: ChunkReceiver) -> None:
        self._uploads = lifecycle
        self._chunks = chunks

    async def receive(
        self,
        owner_id: uuid.UUID,
        chunk: DropzoneChunk,
        body: AsyncIterator[bytes],
        described: Description,
    ) -> DropzoneOut:
        """Store one chunk (a retried one harmlessly) and complete the upload if it was the last."""
        upload = await to_thread.run_sync(
            lambda: self._uploads.create(
                owner_id,
                described,
                size=chunk.total_size,
                chunk_size=chunk.chunk_size,
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
            await self._chunks.put_chunk(owner_id, upload.id, chunk.index, body, length=None)
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


def _ref(dzuuid: str) -> str:
    return f"dropzone:{checked_dzuuid(dzuuid)}"
