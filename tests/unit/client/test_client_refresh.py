"""The client refreshes an expired access token once, shared by threads and processes."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from lfp.client import LfpClient, LfpError
from lfp.client.retry import RetryPolicy
from lfp.client.state import Credentials

POLICY = RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.02)


class FakeServer:
    """Accepts one access token at a time; `/auth/refresh` rotates the pair."""

    def __init__(self) -> None:
        self.generation = 0
        self.refreshes = 0
        self.refuse_refresh = False
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if request.url.path == "/api/v1/auth/refresh":
                return self._refresh(request)
            if request.url.path == "/api/v1/auth/login":
                return httpx.Response(401, json={"detail": "email or password is wrong"})
            if request.headers.get("authorization") != f"Bearer access-{self.generation}":
                return httpx.Response(401, json={"detail": "the access token has expired"})
            return httpx.Response(200, json={"id": "me"})

    def _refresh(self, request: httpx.Request) -> httpx.Response:
        self.refreshes += 1
        sent = json.loads(request.content)["refresh_token"]
        if self.refuse_refresh or sent != f"refresh-{self.generation}":
            return httpx.Response(401, json={"detail": "the session was signed out"})
        self.generation += 1
        tokens = {"access_token": f"access-{self.generation}"}
        return httpx.Response(200, json={**tokens, "refresh_token": f"refresh-{self.generation}"})


def _client(server: FakeServer, store: Credentials | None = None) -> LfpClient:
    return LfpClient(
        "http://lfp",
        "access-0",
        refresh_token="refresh-0",
        token_store=store,
        retry=POLICY,
        transport=httpx.MockTransport(server.handle),
    )


def test_a_401_refreshes_once_and_retries() -> None:
    server = FakeServer()
    client = _client(server)
    assert client.me() == {"id": "me"}
    client.token = "access-stale"  # as good as expired: the server refuses it
    assert client.me() == {"id": "me"}
    assert server.refreshes == 1
    assert client.token == "access-1"
    assert client.refresh_token == "refresh-1"


def test_threads_hit_by_one_expiry_share_one_refresh() -> None:
    server = FakeServer()
    client = _client(server)
    client.token = "access-stale"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.me(), range(32)))
    assert answers == [{"id": "me"}] * 32
    assert server.refreshes == 1


def test_refreshed_tokens_are_saved_and_a_newer_saved_pair_is_adopted(tmp_path: Path) -> None:
    server = FakeServer()
    store = Credentials(tmp_path)
    store.save("http://lfp", "access-stale", "me@example.com", "refresh-0")
    client = _client(server, store)
    client.token = "access-stale"
    client.me()
    assert store.load_tokens() == ("access-1", "refresh-1")
    assert store.load()["email"] == "me@example.com"

    # Another process sharing the file refreshed; this one adopts its pair, sends no refresh.
    other = _client(server, store)
    other.token, other.refresh_token = "access-stale", "refresh-0"
    assert other.me() == {"id": "me"}
    assert server.refreshes == 1
    assert other.refresh_token == "refresh-1"


def test_a_refused_refresh_raises_its_reason() -> None:
    server = FakeServer()
    server.refuse_refresh = True
    client = _client(server)
    client.token = "access-stale"
    with pytest.raises(LfpError) as caught:
        client.me()
    assert caught.value.status == 401
    assert "signed out" in caught.value.detail


def test_a_wrong_login_is_not_refreshed() -> None:
    server = FakeServer()
    client = _client(server)
    with pytest.raises(LfpError):
        client.login("me@example.com", "wrong")
    assert server.refreshes == 0


def test_without_a_refresh_token_a_401_is_final() -> None:
    server = FakeServer()
    client = LfpClient(
        "http://lfp", "access-stale", retry=POLICY, transport=httpx.MockTransport(server.handle)
    )
    with pytest.raises(LfpError):
        client.me()
    assert server.refreshes == 0
