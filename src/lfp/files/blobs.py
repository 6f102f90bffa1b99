"""Blobs shared by several file rows: finding a ready copy to link to, and reference counts.

An upload of bytes the owner already holds becomes a new file row naming the same
`storage_key` (`lfp.uploads.dedup`). The bytes then belong to every row naming the key and
are removed only with the last one. Both sides lock rows so that a link and a delete
running at once neither leak the bytes nor remove them while a row still names them:
linking locks its source row (which must still be `ready`); deleting locks every row
naming the key, in id order (two deletes never wait for each other in a cycle), and only
then counts what is left, in a new statement that sees links committed meanwhile.
SQLite serialises writers, so there the locks are moot.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from lfp.files.models import FileState, StoredFile


def ready_copy(session: Session, owner_id: uuid.UUID, sha256: str, size: int) -> StoredFile | None:
    """The owner's oldest `ready` file of these digest and size, locked until the
    transaction ends (it cannot be deleted under a link being made to it); None if none."""
    return session.scalar(
        select(StoredFile)
        .where(StoredFile.owner_id == owner_id)
        .where(StoredFile.sha256 == sha256.lower())
        .where(StoredFile.size == size)
        .where(StoredFile.state == FileState.ready)
        .order_by(StoredFile.created_at, StoredFile.id)
        .limit(1)
        .with_for_update()
    )


def lock_sharing(session: Session, storage_key: str) -> list[uuid.UUID]:
    """Lock every file row naming `storage_key`, in id order; their ids."""
    return list(
        session.scalars(
            select(StoredFile.id)
            .where(StoredFile.storage_key == storage_key)
            .order_by(StoredFile.id)
            .with_for_update()
        ).all()
    )


def referenced(session: Session, keys: Collection[str]) -> set[str]:
    """Those of `keys` some file row still names as its stored bytes."""
    if not keys:
        return set()
    return set(
        session.scalars(
            select(StoredFile.storage_key).where(StoredFile.storage_key.in_(list(keys)))
        ).all()
    )
