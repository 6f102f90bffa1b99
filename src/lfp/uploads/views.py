"""How uploads are shown: as the native API reports them, and as in-order uploads (tus)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lfp.uploads.models import ConcatRole, Upload, UploadState
from lfp.uploads.schemas import UploadOut


def chunk_count(size: int, chunk_size: int) -> int:
    """How many chunks a file of `size` bytes has."""
    return -(-size // chunk_size)


def upload_view(upload: Upload, received: list[tuple[int, int]]) -> UploadOut:
    """The upload with its stored chunks (`received`: index and size of each)."""
    in_order = upload.offset is not None
    if upload.deduplicated and upload.size is not None:
        # No chunk was sent: the bytes were there already, so every chunk counts as received.
        count = chunk_count(upload.size, upload.chunk_size)
        received = [
            (i, min(upload.chunk_size, upload.size - i * upload.chunk_size)) for i in range(count)
        ]
    return UploadOut(
        id=upload.id,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        chunk_size=upload.chunk_size,
        # In-order (tus) uploads have no chunks: only bytes_received says how far they are.
        chunk_count=chunk_count(upload.size, upload.chunk_size)
        if upload.size is not None and not in_order
        else None,
        received=[] if in_order else [index for index, _ in received],
        bytes_received=upload.offset
        if upload.offset is not None
        else sum(size for _, size in received),
        state=upload.state,
        checksum=upload.checksum,
        processor=upload.processor,
        params=upload.params,
        expires_at=upload.expires_at,
        created_at=upload.created_at,
        file_id=upload.file_id,
        job_id=upload.job_id,
        deduplicated=bool(upload.deduplicated),
    )


@dataclass(frozen=True)
class InOrderUpload:
    """What a client of in-order uploads (tus) may learn of one."""

    id: uuid.UUID
    offset: int
    size: int | None
    state: UploadState
    expires_at: datetime
    concat: ConcatRole | None
    parts: list[uuid.UUID]
    client_metadata: str | None
    file_id: uuid.UUID | None
    job_id: uuid.UUID | None


def in_order_view(upload: Upload) -> InOrderUpload:
    """An in-order upload as its client sees it."""
    assert upload.offset is not None
    return InOrderUpload(
        id=upload.id,
        offset=upload.offset,
        size=upload.size,
        state=upload.state,
        expires_at=upload.expires_at,
        concat=upload.concat,
        parts=[uuid.UUID(part) for part in upload.parts or []],
        client_metadata=upload.client_metadata,
        file_id=upload.file_id,
        job_id=upload.job_id,
    )
