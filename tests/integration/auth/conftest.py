"""Fixtures of the auth tests: a client of the shared server that has signed in as nobody."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import Server


@pytest.fixture
def anon(server: Server) -> Iterator[httpx.Client]:
    """A client of /api/v1 without credentials."""
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as client:
        yield client
