"""Fixtures of the unit tests: a migrated SQLite database in the test's own folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lfp.db.engine import Database
from lfp.db.migrate import upgrade


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh SQLite database with every migration applied."""
    url = f"sqlite:///{tmp_path / 'lfp.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()
