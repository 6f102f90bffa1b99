"""Fixtures of the auth unit tests: a migrated database of each kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lfp.db.engine import Database
from lfp.db.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, make_database: Callable[[str], str | None], tmp_path: Path
) -> Iterator[Database]:
    """A migrated database of each kind."""
    url = make_database(str(request.param)) or f"sqlite:///{tmp_path / 'lfp.db'}"
    upgrade(url)
    db = Database(url, pool_size=1)
    yield db
    db.dispose()
