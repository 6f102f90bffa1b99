"""What verification needs of uploads: the ranges each file was acknowledged in, and
taking damaged ranges again.

A damaged range (its stored bytes differ from the sha-256 recorded when it was
acknowledged) is dropped: an indexed chunk goes back to missing, an in-order upload back
to the offset where the damage starts, and the upload is open again, so `GET` shows what
is missing and `complete` names it. The file fails, saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lfp.config import Settings
from lfp.db.engine import Database
from lfp.files.integrity import RecordedRange, Reopened
from lfp.uploads.models import ChunkState, ConcatRole, Upload, UploadChunk, UploadState
from lfp.uploads.rules import expiry_from_now


class UploadRanges:
    """The recorded ranges of the upload each file came from (a `RecordedRanges`)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    def ranges(self, file_id: uuid.UUID) -> list[RecordedRange]:
        """The ranges with a recorded sha-256 of the upload that became `file_id`."""
        with self._db.read() as session:
            upload = session.scalar(select(Upload).where(Upload.file_id == file_id))
            if upload is None:
                return []
            rows = session.scalars(
                select(UploadChunk)
                .where(UploadChunk.upload_id == upload.id)
                .where(UploadChunk.state == ChunkState.stored)
                .where(UploadChunk.sha256.is_not(None))
            ).all()
            ranges = [
                RecordedRange(
                    index=row.index, start=row.start, size=row.size, sha256=row.sha256 or ""
                )
                for row in rows
            ]
        return sorted(ranges, key=lambda r: r.start)

    def reopen(
        self,
        session: Session,
        file_id: uuid.UUID,
        damaged: Sequence[RecordedRange],
        *,
        staging_kept: bool = True,
    ) -> Reopened:
        """Drop the damaged ranges and open the upload again to take them (in `session`).

        `staging_kept` is False when the staging blob was already published (S3 finishes
        its multipart upload before it can read it): nothing is left to reopen.
        """
        upload = session.scalar(select(Upload).where(Upload.file_id == file_id).with_for_update())
        if upload is None:
            return Reopened("the stored bytes differ from those acknowledged", keep_bytes=False)
        if not staging_kept:
            upload.state = UploadState.aborted
            return Reopened(
                f"the bytes stored for upload {upload.id} differ from those acknowledged; "
                "send the file again",
                keep_bytes=False,
            )
        if upload.concat == ConcatRole.final:
            # A joined upload takes no bytes of its own: its parts must be sent again.
            upload.state = UploadState.aborted
            return Reopened(
                f"the bytes joined into upload {upload.id} differ from those acknowledged; "
                "send the file again",
                keep_bytes=False,
            )
        upload.state = UploadState.open
        upload.file_id = None
        upload.job_id = None
        upload.expires_at = expiry_from_now(self._settings)
        if upload.offset is None:
            return Reopened(_drop_chunks(session, upload, damaged), keep_bytes=True)
        return Reopened(_rewind(session, upload, damaged), keep_bytes=True)


def _drop_chunks(session: Session, upload: Upload, damaged: Sequence[RecordedRange]) -> str:
    indexes = sorted(r.index for r in damaged)
    session.execute(
        delete(UploadChunk)
        .where(UploadChunk.upload_id == upload.id)
        .where(UploadChunk.index.in_(indexes))
    )
    shown = ", ".join(map(str, indexes[:20])) + (" …" if len(indexes) > 20 else "")
    return (
        f"the stored bytes of chunks {shown} differ from those acknowledged; upload "
        f"{upload.id} is open again and takes them again"
    )


def _rewind(session: Session, upload: Upload, damaged: Sequence[RecordedRange]) -> str:
    first = min(r.start for r in damaged)
    session.execute(
        delete(UploadChunk)
        .where(UploadChunk.upload_id == upload.id)
        .where(UploadChunk.start >= first)
    )
    upload.offset = first
    return (
        f"the stored bytes from offset {first} differ from those acknowledged; upload "
        f"{upload.id} is open again and resumes from offset {first}"
    )
