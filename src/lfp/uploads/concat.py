"""Concatenation: a final upload made of complete partial in-order uploads, end to end.

The partial uploads' bytes are joined inside the store (the bytes never pass through lfp),
their recorded ranges become the final upload's, and the final upload completes at once.
A crash before the closing transaction leaves the partial uploads untouched and an open
final upload that expires.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lfp.db.engine import Database
from lfp.errors import BadRequest, Conflict
from lfp.storage import BlobStore, StorageError
from lfp.uploads.appends import AppendReceiver, check_alive, owned_in_order
from lfp.uploads.lifecycle import Description, UploadLifecycle
from lfp.uploads.models import ChunkState, ConcatRole, Upload, UploadChunk, UploadState
from lfp.uploads.views import InOrderUpload, in_order_view


class Concatenator:
    """Joins partial uploads into final ones."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        lifecycle: UploadLifecycle,
        appends: AppendReceiver,
    ) -> None:
        self._db = db
        self._store = store
        self._lifecycle = lifecycle
        self._appends = appends

    def concatenate(
        self, owner_id: uuid.UUID, part_ids: list[uuid.UUID], described: Description
    ) -> InOrderUpload:
        """A final upload made of the complete partial uploads `part_ids`, in that order.

        The partial uploads are used up: their bytes become the final upload's, which
        completes at once (verification and its job follow as for any upload).
        """
        if not part_ids:
            raise BadRequest("a final upload needs at least one partial upload")
        if len(set(part_ids)) != len(part_ids):
            raise BadRequest("a partial upload is named twice")
        with self._db.read() as session:
            parts = [_complete_part(session, owner_id, part_id) for part_id in part_ids]
            total = sum(part.size or 0 for part in parts)
            keys = [part.staging_key for part in parts]
            sizes = [part.size or 0 for part in parts]
        final = self._appends.create(
            owner_id, described, size=total, concat=ConcatRole.final, parts=part_ids
        )
        try:
            with self._db.read() as session:
                staging_key = owned_in_order(session, owner_id, final.id).staging_key
            self._store.concatenate(staging_key, keys, sizes)
            view = self._close(owner_id, part_ids, final.id, total)
        except BaseException as exc:
            self._lifecycle.abort(owner_id, final.id)
            if isinstance(exc, StorageError):
                raise Conflict(f"the partial uploads could not be joined: {exc}") from exc
            raise
        for key in keys:
            self._store.delete(key)
        return view

    def _close(
        self, owner_id: uuid.UUID, part_ids: list[uuid.UUID], final_id: uuid.UUID, total: int
    ) -> InOrderUpload:
        """Use the parts up, give their ranges to the final upload and complete it."""
        with self._db.write() as session:
            start = 0
            index = 0
            for part_id in part_ids:
                part = _complete_part(session, owner_id, part_id, lock=True)
                part.state = UploadState.concatenated
                for row in _ranges(session, part_id):
                    session.add(
                        UploadChunk(
                            upload_id=final_id,
                            index=index,
                            start=start + row.start,
                            size=row.size,
                            state=ChunkState.stored,
                            sha256=row.sha256,
                        )
                    )
                    index += 1
                start += part.size or 0
            upload = owned_in_order(session, owner_id, final_id, lock=True)
            upload.offset = total
            self._lifecycle.complete_locked(session, upload)
            return in_order_view(upload)


def _ranges(session: Session, upload_id: uuid.UUID) -> list[UploadChunk]:
    return list(
        session.scalars(
            select(UploadChunk)
            .where(UploadChunk.upload_id == upload_id)
            .where(UploadChunk.state == ChunkState.stored)
            .order_by(UploadChunk.start)
        )
    )


def _complete_part(
    session: Session, owner_id: uuid.UUID, part_id: uuid.UUID, *, lock: bool = False
) -> Upload:
    part = owned_in_order(session, owner_id, part_id, lock=lock)
    if part.concat != ConcatRole.partial:
        raise BadRequest(f"upload {part_id} is not a partial upload")
    if part.state == UploadState.concatenated:
        raise Conflict(f"partial upload {part_id} is already part of a final upload")
    check_alive(part)
    if part.state != UploadState.open or part.size is None or part.offset != part.size:
        have = f"{part.offset} of {part.size if part.size is not None else '?'}"
        raise Conflict(f"partial upload {part_id} is not complete ({have} bytes)")
    return part
