"""Uploads of bytes the owner already holds: completed at creation, without a byte sent.

A native upload that declares its size and a `sha256:` checksum, when the same owner has a
`ready` file of that digest and size, becomes at once a completed upload of a new `ready`
file sharing that file's stored bytes (`lfp.files.blobs` counts the rows naming a blob, so
the bytes stay until the last of them is deleted). Only the caller's own files match:
matching another user's would tell the caller what others hold. The new file counts its
size toward the owner's quota like any other file, so the link is refused exactly as an
upload of that size would be; the open-upload cap does not apply, nothing being left open.
"""

from __future__ import annotations

import functools
import uuid

from lfp.db.engine import after_commit
from lfp.files.blobs import ready_copy
from lfp.uploads.lifecycle import Description, UploadLifecycle
from lfp.uploads.models import Upload, UploadState
from lfp.uploads.quota import check_room, lock_user, usage
from lfp.uploads.schemas import UploadOut
from lfp.uploads.views import upload_view

_SHA256 = "sha256:"


def create_linked(
    uploads: UploadLifecycle,
    owner_id: uuid.UUID,
    described: Description,
    *,
    size: int | None,
    chunk_size: int | None = None,
) -> UploadOut | None:
    """The upload completed at once into a new file sharing the bytes of the owner's ready
    file of this size and declared sha-256; None (upload as usual) when there is none.

    What the request declares is checked as for any upload first (processor, params,
    size, chunk size), and the owner's quota must have room for the new file.
    """
    checksum = described.checksum
    if size is None or checksum is None or not checksum.startswith(_SHA256):
        return None
    upload = _linked_upload(uploads, owner_id, described, size, chunk_size)
    with uploads.db.write() as session:
        # The owner's row first, as every quota check takes it, then the source's.
        limits = lock_user(session, owner_id, uploads.settings)
        source = ready_copy(session, owner_id, checksum.removeprefix(_SHA256), size)
        if source is None:
            return None
        check_room(limits, usage(session, owner_id), size, "this upload")
        file = uploads.files.create_linked(
            session,
            source,
            filename=described.filename,
            content_type=described.content_type,
            expected_checksum=checksum,
        )
        upload.file_id = file.id
        session.add(upload)
        if upload.processor is not None:
            job = uploads.jobs.add(session, file, upload.processor, upload.params or {})
            upload.job_id = job.id
            # The file is ready already: nothing else would start the job.
            after_commit(session, functools.partial(uploads.jobs.dispatch, job.id))
        session.flush()
    uploads.metrics.upload_event("deduplicated")
    return upload_view(upload, [])


def _linked_upload(
    uploads: UploadLifecycle,
    owner_id: uuid.UUID,
    described: Description,
    size: int,
    chunk_size: int | None,
) -> Upload:
    """The completed upload's row (without its file yet), once what it declares is checked
    as `UploadLifecycle.create` checks it (but free space: no byte is to be stored)."""
    declared = uploads.declared(described, size, chunk_size, None)
    upload_id = uuid.uuid4()
    return Upload(
        id=upload_id,
        owner_id=owner_id,
        filename=described.filename,
        content_type=described.content_type,
        size=size,
        chunk_size=declared.chunk_size,
        checksum=described.checksum,
        processor=described.processor,
        params=declared.params,
        state=UploadState.completed,
        # Nothing is ever staged there; deleting it (say with the account) is harmless.
        staging_key=f"uploads/{upload_id}",
        expires_at=uploads.next_expiry(),
        deduplicated=True,
    )
