"""Stored files: create, look up, list, read and delete, always on behalf of their owner."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from lfp.db.base import utcnow
from lfp.db.engine import Database, after_commit
from lfp.db.id_prefix import id_starts_with
from lfp.db.ownership import get_owned
from lfp.db.paging import page_of
from lfp.errors import Conflict, NotFound
from lfp.files.blobs import lock_sharing, referenced
from lfp.files.models import FileState, StoredFile
from lfp.jobs.models import Job, JobOutput
from lfp.storage import BlobStore


class FileService:
    """Access to the files a user owns, and the making of new ones."""

    def __init__(self, db: Database, store: BlobStore, verify: Callable[[uuid.UUID], None]) -> None:
        self._db = db
        self._store = store
        self._verify = verify  # the executor's `submit_verification`

    def create_verifying(
        self,
        session: Session,
        *,
        owner_id: uuid.UUID,
        filename: str,
        content_type: str | None,
        size: int,
        expected_checksum: str | None,
        staging_key: str,
    ) -> StoredFile:
        """A new file of the bytes at `staging_key`, in the caller's unit of work.

        It is `verifying` until its digests are known; verification starts once the unit
        of work commits (and again through recovery, should its verifier die first).
        """
        file_id = uuid.uuid4()
        file = StoredFile(
            id=file_id,
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            size=size,
            state=FileState.verifying,
            expected_checksum=expected_checksum,
            staging_key=staging_key,
            storage_key=self._store.final_key(staging_key, f"files/{file_id}"),
            created_at=utcnow(),
        )
        session.add(file)
        session.flush()
        after_commit(session, functools.partial(self._verify, file_id))
        return file

    def create_linked(
        self,
        session: Session,
        source: StoredFile,
        *,
        filename: str,
        content_type: str | None,
        expected_checksum: str | None,
    ) -> StoredFile:
        """A new `ready` file of the owner's, sharing the stored bytes of `source` (a ready
        file of theirs the caller holds locked), in the caller's unit of work."""
        file = StoredFile(
            id=uuid.uuid4(),
            owner_id=source.owner_id,
            filename=filename,
            content_type=content_type,
            size=source.size,
            state=FileState.ready,
            sha256=source.sha256,
            md5=source.md5,
            expected_checksum=expected_checksum,
            staging_key=None,
            storage_key=source.storage_key,
            created_at=utcnow(),
        )
        session.add(file)
        session.flush()
        return file

    def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> StoredFile:
        """The file; `NotFound` unless `owner_id` owns it."""
        with self._db.read() as session:
            return get_owned(session, StoredFile, file_id, owner_id, what="file")

    def list_owned(
        self, owner_id: uuid.UUID, *, page: int, per_page: int, id_prefix: str | None = None
    ) -> tuple[list[StoredFile], int]:
        """One page of the owner's files, newest first, and how many match in all.

        `id_prefix` keeps those whose id starts with it (see `lfp.db.id_prefix`).
        """
        where = [StoredFile.owner_id == owner_id]
        if id_prefix is not None:
            where.append(id_starts_with(StoredFile.id, id_prefix))
        newest_first = (StoredFile.created_at.desc(), StoredFile.id)
        query = select(StoredFile).where(*where).order_by(*newest_first)
        with self._db.read() as session:
            return page_of(session, query, page=page, per_page=per_page)

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
        """Remove the file's record, its jobs and their outputs, and its bytes unless
        another file row still shares them (`lfp.files.blobs`)."""
        with self._db.write() as session:
            storage_key = session.scalar(
                select(StoredFile.storage_key)
                .where(StoredFile.id == file_id)
                .where(StoredFile.owner_id == owner_id)
            )
            if storage_key is None:
                raise NotFound(f"no file {file_id}")
            # Every row sharing the bytes, locked before this one is read again: a link
            # or another delete of the same bytes waits, or is waited for.
            lock_sharing(session, storage_key)
            file = get_owned(session, StoredFile, file_id, owner_id, what="file", lock=True)
            keys = [file.staging_key] if file.staging_key else []
            keys += session.scalars(
                select(JobOutput.storage_key)
                .join(Job, Job.id == JobOutput.job_id)
                .where(Job.file_id == file_id)
            ).all()
            # The database removes the jobs with the file (a running one then finds its
            # claim gone and publishes nothing).
            session.delete(file)
            session.flush()
            if not referenced(session, [storage_key]):
                keys.append(storage_key)
        for key in keys:
            self._store.delete(key)
