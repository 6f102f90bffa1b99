"""The upload core wired as in a server, on SQLite and an in-memory store: no HTTP, no disk."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lfp.auth.models import User
from lfp.bootstrap import Services, build_services
from lfp.config import Settings
from lfp.db.migrate import upgrade
from lfp.storage import MemoryBlobStore


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def make_services(tmp_path: Path, store: MemoryBlobStore) -> Iterator[Callable[..., Services]]:
    """Builds the services with some settings changed; shuts them down after the test."""
    built: list[Services] = []

    def make(**changed: Any) -> Services:
        settings = Settings(data_dir=tmp_path, min_free_bytes=0, fsync=False, **changed)
        upgrade(settings.resolved_database_url)
        built.append(build_services(settings, store=store))
        return built[-1]

    yield make
    for services in built:
        services.verifier.shutdown()
        services.jobs.shutdown()
        services.db.dispose()


@pytest.fixture
def services(make_services: Callable[..., Services]) -> Services:
    return make_services()


@pytest.fixture
def owner(services: Services) -> uuid.UUID:
    return new_user(services)


def new_user(services: Services) -> uuid.UUID:
    """A fresh user to own uploads."""
    with services.db.write() as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        return user.id
