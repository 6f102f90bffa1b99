"""Verification holds a lease on its file: dead verifiers are replaced, live ones left alone."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.leases import Lease
from lfp.db.migrate import upgrade
from lfp.files.models import FileState, StoredFile
from lfp.files.verify import VERIFY_LEASE, Verifier
from lfp.storage import LocalBlobStore
from tests.helpers import wait_until
from tests.unit.files.test_verifier import DATA, staged_file, state_of


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, make_database: Callable[[str], str | None]
) -> Iterator[Database]:
    """A migrated database on SQLite and on a fresh PostgreSQL database."""
    url = make_database(request.param) or f"sqlite:///{tmp_path / 'lfp.db'}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def claim_of(db: Database, file_id: uuid.UUID) -> uuid.UUID | None:
    with db.read() as session:
        file = session.get(StoredFile, file_id)
        assert file is not None
        return file.verify_claim


def take_lease(db: Database, file_id: uuid.UUID, seconds: float) -> uuid.UUID:
    """Another verifier's claim, never renewed; `seconds` < 0 is one already lapsed."""
    lease = Lease(db, VERIFY_LEASE, 60)
    with db.write() as session:
        file = session.get(StoredFile, file_id, with_for_update=True)
        assert file is not None
        token = lease.take(file)
        file.verify_lease_until = utcnow() + timedelta(seconds=seconds)
    return token


def test_recovery_finishes_what_a_dead_verifier_started(database: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(database, store)
    take_lease(database, file_id, seconds=-1)  # its holder died: never renewed, lapsed
    verifier = Verifier(database, store, lease_seconds=5)
    try:
        orphans = verifier.orphans(unsent_for=3600)
        assert orphans == [file_id]
        for orphan in orphans:
            verifier.submit(orphan).result(timeout=30)
    finally:
        verifier.shutdown()
    assert state_of(database, file_id) == (FileState.ready, hashlib.sha256(DATA).hexdigest())
    assert claim_of(database, file_id) is None
    assert store.local_path(f"files/{file_id}").read_bytes() == DATA


def test_a_file_held_by_a_live_verifier_is_left_alone(database: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(database, store)
    token = take_lease(database, file_id, seconds=60)
    verifier = Verifier(database, store, lease_seconds=5)
    try:
        assert verifier.orphans() == []
        verifier.verify(file_id)  # a stray message: the live holder keeps the file
    finally:
        verifier.shutdown()
    assert state_of(database, file_id) == (FileState.verifying, None)
    assert claim_of(database, file_id) == token


def test_a_new_file_gets_time_for_its_first_message(database: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(database, store)
    verifier = Verifier(database, store)
    assert verifier.orphans(unsent_for=3600) == []
    assert verifier.orphans(unsent_for=0) == [file_id]
    verifier.shutdown()


def endless_read(store: LocalBlobStore, what: Callable[[], None]) -> None:
    """Make `store.read` yield blocks, calling `what` first, until the reader stops (10 s)."""

    def read(*_: object, **__: object) -> Iterator[bytes]:
        what()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            yield b"x" * 1024
            time.sleep(0.005)  # a slow disk; the reader must stop by itself

    store.read = read  # type: ignore[method-assign]


def test_a_verifier_that_lost_its_lease_records_nothing(database: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(database, store)
    thief: list[uuid.UUID] = []
    # Mid-read, the verifier is presumed dead and another takes the file over.
    endless_read(store, lambda: thief.append(take_lease(database, file_id, seconds=60)))
    verifier = Verifier(database, store, lease_seconds=0.3)
    started = time.monotonic()
    try:
        verifier.submit(file_id).result(timeout=30)
    finally:
        verifier.shutdown()
    assert time.monotonic() - started < 9  # it stopped on losing the lease, not at the end
    assert state_of(database, file_id) == (FileState.verifying, None)
    assert claim_of(database, file_id) == thief[0]
    assert store.exists(f"uploads/{file_id}")
    assert not store.exists(f"files/{file_id}")


def test_shutdown_gives_the_lease_back(database: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    file_id = staged_file(database, store)
    endless_read(store, lambda: None)
    verifier = Verifier(database, store, lease_seconds=30)
    verifier.submit(file_id)
    wait_until(lambda: claim_of(database, file_id), 10, "the verifier's claim")
    verifier.shutdown()
    assert claim_of(database, file_id) is None
    assert state_of(database, file_id) == (FileState.verifying, None)
    # Another process takes it over at once, not after the lease.
    assert Verifier(database, store).orphans() == [file_id]
