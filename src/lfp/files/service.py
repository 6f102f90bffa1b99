"""Stored files: look up, list, read and delete, always on behalf of their owner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import func, select

from lfp.db.engine import Database
from lfp.errors import Conflict, NotFound
from lfp.files.models import FileState, StoredFile
from lfp.jobs.models import Job, JobOutput
from lfp.storage import BlobStore


class FileService:
    """Access to the files a user owns."""

    def __init__(self, db: Database, store: BlobStore) -> None:
        self._db = db
        self._store = store

    def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> StoredFile:
        """The file; `NotFound` unless `owner_id` owns it."""
        with self._db.read() as session:
            file = session.get(StoredFile, file_id)
        if file is None or file.owner_id != owner_id:
            raise NotFound(f"no file {file_id}")
        return file

    def list_owned(
        self, owner_id: uuid.UUID, *, page: int, per_page: int
    ) -> tuple[list[StoredFile], int]:
        """One page of the owner's files, newest first, and how many there are in all."""
        with self._db.read() as session:
            total = session.scalar(
                select(func.count()).select_from(StoredFile).where(StoredFile.owner_id == owner_id)
            )
            items = session.scalars(
                select(StoredFile)
                .where(StoredFile.owner_id == owner_id)
                .order_by(StoredFile.created_at.desc(), StoredFile.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
        return list(items), total or 0

    def ready(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> StoredFile:
        """The file, which must be `ready` to be read (else `Conflict`)."""
        file = self.get(owner_id, file_id)
        if file.state != FileState.ready:
            detail = f"file is {file.state.value}" + (f": {file.error}" if file.error else "")
            raise Conflict(detail)
        return file

    def read(self, file: StoredFile, start: int, end: int) -> Iterator[bytes]:
        """The bytes of a ready file in `[start, end)`."""
        return self._store.read(file.storage_key, start, end)

    def delete(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Remove the file's record and its bytes, with its jobs and their outputs."""
        with self._db.write() as session:
            file = session.get(StoredFile, file_id, with_for_update=True)
            if file is None or file.owner_id != owner_id:
                raise NotFound(f"no file {file_id}")
            keys = [k for k in (file.storage_key, file.staging_key) if k]
            keys += session.scalars(
                select(JobOutput.storage_key)
                .join(Job, Job.id == JobOutput.job_id)
                .where(Job.file_id == file_id)
            ).all()
            # The database removes the jobs with the file (a running one then finds its
            # claim gone and publishes nothing).
            session.delete(file)
        for key in keys:
            self._store.delete(key)
