"""Migrations carry existing rows forward: chunks stored before 0006 learn where they start."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from lfp.db.migrate import upgrade


def test_chunks_stored_before_0006_start_at_index_times_chunk_size(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lfp.db'}"
    upgrade(url, "0005")
    engine = sa.create_engine(url)
    user, upload = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, created_at) "
                "VALUES (:id, 'old@example.com', 'x', '2026-01-01 00:00:00')"
            ),
            {"id": user},
        )
        connection.execute(
            sa.text(
                "INSERT INTO uploads (id, owner_id, filename, size, chunk_size, state, "
                "staging_key, expires_at, created_at) VALUES (:id, :owner, 'f', 30, 10, 'open', "
                "'uploads/x', '2027-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"id": upload, "owner": user},
        )
        connection.execute(
            sa.text(
                'INSERT INTO upload_chunks (upload_id, "index", size, state) '
                "VALUES (:id, 2, 10, 'stored')"
            ),
            {"id": upload},
        )
    upgrade(url)
    with engine.connect() as connection:
        start = connection.execute(sa.text("SELECT start FROM upload_chunks")).scalar_one()
    engine.dispose()
    assert start == 20
