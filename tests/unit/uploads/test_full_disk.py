"""Full disks in the upload core: recognising one, discarding a stream, sweeping orphans."""

from __future__ import annotations

import errno
import os
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from lfp.bootstrap import Services
from lfp.db.base import utcnow
from lfp.errors import InsufficientStorage
from lfp.files.models import FileState, StoredFile
from lfp.storage import LocalBlobStore, MemoryBlobStore
from lfp.uploads.full_disk import is_disk_full, sweep_orphans
from lfp.uploads.lifecycle import Description, UploadLifecycle

LONG_AGO = 1_000_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """A local store, so staging blobs are files the sweep can list."""
    return LocalBlobStore(tmp_path / "blobs", fsync=False)


def sqlite_error(message: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError(message))


def test_a_full_disk_is_recognised_in_every_form() -> None:
    assert is_disk_full(sqlite_error("database or disk is full"))
    assert is_disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise InsufficientStorage("no space left on the store") from exc
    except InsufficientStorage as wrapped:
        assert is_disk_full(wrapped)


def test_other_failures_are_not_a_full_disk() -> None:
    assert not is_disk_full(sqlite_error("database is locked"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("bad"))


def age(store: LocalBlobStore, key: str, when: float = LONG_AGO) -> None:
    os.utime(store.local_path(key), (when, when))


def new_upload(services: Services, owner: uuid.UUID) -> str:
    upload = services.uploads.create(owner, Description(filename="a.bin"), size=10)
    return f"uploads/{upload.id}"


def test_the_sweep_removes_old_blobs_no_upload_or_file_names(
    services: Services, store: LocalBlobStore, owner: uuid.UUID
) -> None:
    live = new_upload(services, owner)
    aborted = new_upload(services, owner)
    services.uploads.abort(owner, uuid.UUID(aborted.split("/")[1]))
    store.create_staging(aborted, 10)  # left behind: the abort was recorded, not the delete
    rowless = store.create_staging(f"uploads/{uuid.uuid4()}", 10)
    young = store.create_staging(f"uploads/{uuid.uuid4()}", 10)
    for key in (live, aborted, rowless):
        age(store, key)
    assert sweep_orphans(services.db, store) == 2
    assert store.exists(live) and store.exists(young)
    assert not store.exists(aborted) and not store.exists(rowless)
    assert sweep_orphans(services.db, store) == 0


def test_the_sweep_keeps_a_blob_a_file_still_names(
    services: Services, store: LocalBlobStore, owner: uuid.UUID
) -> None:
    key = store.create_staging(f"uploads/{uuid.uuid4()}", 10)
    with services.db.write() as session:
        session.add(
            StoredFile(
                id=uuid.uuid4(),
                owner_id=owner,
                filename="f.bin",
                size=10,
                state=FileState.failed,
                staging_key=key,
                storage_key="files/x",
                created_at=utcnow(),
            )
        )
    age(store, key)
    assert sweep_orphans(services.db, store) == 0
    assert store.exists(key)


def test_the_sweep_honours_its_age_and_clock(services: Services, store: LocalBlobStore) -> None:
    key = store.create_staging(f"uploads/{uuid.uuid4()}", 10)
    assert sweep_orphans(services.db, store) == 0
    assert sweep_orphans(services.db, store, now=time.time() + 3600) == 1
    assert not store.exists(key)


def test_stores_that_cannot_list_are_left_alone(services: Services) -> None:
    assert sweep_orphans(services.db, MemoryBlobStore()) == 0


def test_discard_removes_the_bytes_even_when_the_abort_cannot_be_recorded(
    services: Services, store: LocalBlobStore, owner: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_upload(services, owner)

    def full(*_args: object) -> None:
        raise sqlite_error("database or disk is full")

    monkeypatch.setattr(UploadLifecycle, "abort", full)
    services.uploads.discard(owner, uuid.UUID(key.split("/")[1]))
    assert not store.exists(key)
