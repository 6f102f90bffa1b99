"""Leases: taken, renewed only while held, released only by their holder, asked to stop, and
a heartbeat that stops its holder's writes once the lease is gone."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from lfp.auth.models import User
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.leases import Heartbeat, Lease, LeaseLost, LeaseState
from lfp.uploads.appends import APPEND_LEASE
from lfp.uploads.models import Upload, UploadState


@pytest.fixture
def upload_id(db: Database) -> uuid.UUID:
    with db.write() as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        upload = Upload(
            owner_id=user.id,
            filename="f",
            size=10,
            chunk_size=10,
            state=UploadState.open,
            staging_key="uploads/x",
            expires_at=utcnow() + timedelta(hours=1),
            offset=0,
        )
        session.add(upload)
        session.flush()
        return upload.id


def take(db: Database, lease: Lease, upload_id: uuid.UUID) -> uuid.UUID:
    with db.write() as session:
        return lease.take(session.get(Upload, upload_id))


def test_a_taken_lease_is_held_by_its_token_only(db: Database, upload_id: uuid.UUID) -> None:
    lease = Lease(db, APPEND_LEASE, seconds=60)
    token = take(db, lease, upload_id)
    with db.read() as session:
        row = session.get(Upload, upload_id)
        assert lease.holds(row, token) and not lease.holds(row, uuid.uuid4())
        left = lease.remaining(row)
        assert left is not None and 59 < left <= 60
    assert lease.renew(upload_id, uuid.uuid4()) is LeaseState.lost
    assert lease.release(upload_id, uuid.uuid4()) is False
    assert lease.renew(upload_id, token) is LeaseState.held


def test_a_holder_asked_to_stop_learns_it_at_its_next_renewal(
    db: Database, upload_id: uuid.UUID
) -> None:
    lease = Lease(db, APPEND_LEASE, seconds=60)
    token = take(db, lease, upload_id)
    with db.write() as session:
        lease.ask_to_stop(session.get(Upload, upload_id))
    assert lease.renew(upload_id, token) is LeaseState.asked_to_stop
    assert lease.release(upload_id, token) is True
    with db.read() as session:
        assert lease.remaining(session.get(Upload, upload_id)) is None


def test_a_lapsed_lease_can_be_taken_over_and_its_old_holder_stops_writing(
    db: Database, upload_id: uuid.UUID
) -> None:
    # So short a lease that every check must renew before it vouches for a write.
    lease = Lease(db, APPEND_LEASE, seconds=1e-6)
    token = take(db, lease, upload_id)
    stops: list[LeaseState] = []
    heartbeat = Heartbeat(lease, upload_id, token, interval=3600, on_stop=stops.append).start()
    try:
        heartbeat.check()  # still held: the write may go ahead
        with db.read() as session:
            assert lease.remaining(session.get(Upload, upload_id)) is None  # lapsed already
        take(db, lease, upload_id)
        with pytest.raises(LeaseLost) as lost:
            heartbeat.check()
        assert lost.value.state is LeaseState.lost
        with pytest.raises(LeaseLost):
            heartbeat.check()
        assert stops == [LeaseState.lost]
    finally:
        heartbeat.stop()


def test_a_heartbeat_keeps_its_lease_while_the_holder_lives(
    db: Database, upload_id: uuid.UUID
) -> None:
    lease = Lease(db, APPEND_LEASE, seconds=60)
    token = take(db, lease, upload_id)
    renewed = threading.Event()

    def on_renew(row: Upload) -> None:
        renewed.set()

    heartbeat = Heartbeat(lease, upload_id, token, interval=0.02, on_renew=on_renew).start()
    try:
        assert renewed.wait(timeout=30), "the heartbeat never renewed the lease"
        heartbeat.check()
        assert heartbeat.state is LeaseState.held
    finally:
        heartbeat.stop()
