"""Verification runs once per file, and a second verification never undoes the first."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from lfp.auth.models import User
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.files.models import FileState, StoredFile
from lfp.files.verify import Verifier
from lfp.storage import LocalBlobStore

DATA = b"verified bytes\n" * 1000


def staged_file(db: Database, store: LocalBlobStore) -> uuid.UUID:
    """A file in state `verifying` whose bytes wait in a staging blob."""
    file_id = uuid.uuid4()
    store.create_staging(f"uploads/{file_id}", len(DATA))
    writer = store.open_part(f"uploads/{file_id}", 0, 0, len(DATA))
    writer.write([DATA])
    writer.commit()
    with db.write() as session:
        user = User(email=f"{file_id}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        session.add(
            StoredFile(
                id=file_id,
                owner_id=user.id,
                filename="a.txt",
                size=len(DATA),
                state=FileState.verifying,
                staging_key=f"uploads/{file_id}",
                storage_key=f"files/{file_id}",
                created_at=utcnow(),
            )
        )
    return file_id


def state_of(db: Database, file_id: uuid.UUID) -> tuple[FileState, str | None]:
    with db.read() as session:
        file = session.get(StoredFile, file_id)
        assert file is not None
        return file.state, file.sha256


def test_submitting_a_file_twice_verifies_it_once(db: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(db, store)
    verifier = Verifier(db, store)
    release = threading.Event()
    real_read = store.read

    def slow_read(*args: object, **kwargs: object) -> Iterator[bytes]:
        release.wait(10)
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    store.read = slow_read  # type: ignore[method-assign]
    first = verifier.submit(file_id)
    second = verifier.submit(file_id)
    release.set()
    assert second is first
    first.result(timeout=30)
    verifier.shutdown()
    assert state_of(db, file_id) == (FileState.ready, hashlib.sha256(DATA).hexdigest())
    assert store.local_path(f"files/{file_id}").read_bytes() == DATA


def test_a_verification_that_lost_the_race_keeps_the_published_file(
    db: Database, tmp_path: Path
) -> None:
    # Two servers verify one file: B runs whole between A's publish and A's record.
    store_a = LocalBlobStore(tmp_path / "blobs", fsync=False)
    store_b = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(db, store_a)
    verifier_b = Verifier(db, store_b)
    real_publish = store_a.publish

    def publish_then_let_b_run(staging_key: str, final_key: str, size: int) -> None:
        real_publish(staging_key, final_key, size)
        verifier_b.verify(file_id)

    store_a.publish = publish_then_let_b_run  # type: ignore[method-assign]
    Verifier(db, store_a).verify(file_id)
    assert state_of(db, file_id) == (FileState.ready, hashlib.sha256(DATA).hexdigest())
    assert store_a.local_path(f"files/{file_id}").read_bytes() == DATA
