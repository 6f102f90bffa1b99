"""Full disks: telling a full disk from other failures, and removing what one left behind.

A request that runs out of space removes its own staging blob before it tries to record
the abort, but the process may die in between, or the database may be on the same full
disk and unable to write. `sweep_orphans` (run at startup and at every sweep) then removes
each staging blob no upload or file refers to any more.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from lfp.db.engine import Database
from lfp.files.models import StoredFile
from lfp.uploads.models import Upload, UploadState

log = logging.getLogger(__name__)

# Where every upload's staging blob lives (`uploads/<upload id>`).
STAGING_PREFIX = "uploads/"
# A staging blob younger than this is left alone: its upload's row may not be written yet
# (the blob is created first), or a slow transaction may be about to write it.
ORPHAN_MIN_AGE_SECONDS = 300.0
# SQLite's and PostgreSQL's words for a full disk (SQLITE_FULL; SQLSTATE 53100 disk_full).
_FULL_MESSAGES = ("database or disk is full", "no space left on device")
_DISK_FULL_SQLSTATE = "53100"


@runtime_checkable
class ListsStaging(Protocol):
    """A store that can list its staging blobs (local folders; S3 uploads expire there)."""

    def staging_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        """The key and last-modified time (epoch seconds) of each blob under `prefix`."""

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing blob is not an error."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says a disk is full: ENOSPC, SQLite or PostgreSQL."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(current, DBAPIError):
            current = current.orig
            continue
        if getattr(current, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return True
        text = str(current).lower()
        if any(message in text for message in _FULL_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def sweep_orphans(
    db: Database,
    store: object,
    *,
    min_age: float = ORPHAN_MIN_AGE_SECONDS,
    now: float | None = None,
) -> int:
    """Remove staging blobs older than `min_age` seconds that nothing refers to; how many.

    A staging blob is kept while an open upload or a file (still being verified and
    published) names it; one whose upload is aborted, expired or gone, and that no file
    names, is removed. Stores that cannot list their blobs are left alone.
    """
    if not isinstance(store, ListsStaging):
        return 0
    cutoff = (time.time() if now is None else now) - min_age
    old = [key for key, modified in store.staging_blobs(STAGING_PREFIX) if modified < cutoff]
    removed = 0
    for start in range(0, len(old), 500):
        for key in _unreferenced(db, old[start : start + 500]):
            store.delete(key)
            removed += 1
    if removed:
        log.info("removed %d orphaned staging blobs", removed)
    return removed


def _unreferenced(db: Database, keys: Sequence[str]) -> list[str]:
    """The keys of `keys` that neither an open upload nor a file names."""
    with db.read() as session:
        open_keys = session.scalars(
            select(Upload.staging_key)
            .where(Upload.staging_key.in_(keys))
            .where(Upload.state == UploadState.open)
        ).all()
        staged = session.scalars(
            select(StoredFile.staging_key).where(StoredFile.staging_key.in_(keys))
        ).all()
        published = session.scalars(
            select(StoredFile.storage_key).where(StoredFile.storage_key.in_(keys))
        ).all()
    kept = {*open_keys, *staged, *published}
    return [key for key in keys if key not in kept]
