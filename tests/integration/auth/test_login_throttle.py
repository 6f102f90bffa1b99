"""Login throttling against two real servers sharing one database (SQLite and PostgreSQL).

Each test plays clients at addresses of its own: the servers trust `X-Forwarded-For` from
127.0.0.1 (uvicorn's default `FORWARDED_ALLOW_IPS`), as they would from a local proxy.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import BASE_ENV
from tests.helpers import PASSWORD, Server

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 6
BACKOFF = 600  # long enough that no wait ends during a test


@pytest.fixture(scope="module")
def servers(
    backend: str,
    make_database: Callable[[str], str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Server]]:
    """Two API servers on one database, with low login limits."""
    folder = tmp_path_factory.mktemp(f"throttle-{backend}")
    database = make_database(backend) or f"sqlite:///{folder / 'shared.db'}"
    env = {
        **BASE_ENV,
        "LFP_DATABASE_URL": database,
        "LFP_LOGIN_ACCOUNT_FAILURES": str(ACCOUNT_LIMIT),
        "LFP_LOGIN_ADDRESS_FAILURES": str(ADDRESS_LIMIT),
        "LFP_LOGIN_BACKOFF_SECONDS": str(BACKOFF),
    }
    started = []
    try:
        for n in range(2):
            server = Server(folder / f"server-{n}", env)
            started.append(server)
            server.start()
        yield started
    finally:
        for server in started:
            server.stop()


def address() -> str:
    """A client address no other test uses (from the OS's randomness: pytest-randomly seeds
    `random` alike for every test, which would hand each test the same addresses)."""
    return "10." + ".".join(str(b) for b in secrets.token_bytes(3))


def new_account(server: Server) -> str:
    email = f"throttle-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{server.url}/api/v1/auth/signup", json=body).status_code == 201
    return email


def login(server: Server, email: str, password: str, client: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": client},
        timeout=60,
    )


def assert_throttled(response: httpx.Response, words: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = int(response.headers["Retry-After"])
    assert BACKOFF - 60 <= retry_after <= BACKOFF
    body = response.json()
    assert body["retry_after"] == retry_after
    assert words in body["detail"] and f"try again in {retry_after} s" in body["detail"]


def test_an_account_is_held_up_only_at_the_address_that_guessed(servers: list[Server]) -> None:
    first, second = servers
    email, attacker, user = new_account(first), address(), address()
    for n in range(ACCOUNT_LIMIT):  # failures on either server count alike
        assert login(servers[n % 2], email, "wrong password 1", attacker).status_code == 401
    assert_throttled(login(first, email, PASSWORD, attacker), "for this account from your address")
    assert_throttled(login(second, email, PASSWORD, attacker), "for this account")
    assert login(second, email, PASSWORD, user).status_code == 200  # the real user gets in
    assert login(first, new_account(first), PASSWORD, attacker).status_code == 200


def test_an_address_is_held_up_after_failures_on_many_accounts(servers: list[Server]) -> None:
    first, second = servers
    client = address()
    for n in range(ADDRESS_LIMIT):
        email = f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.com"
        assert login(servers[n % 2], email, PASSWORD, client).status_code == 401
    email = new_account(first)
    response = login(second, email, PASSWORD, client)
    assert_throttled(response, "from your address")
    assert "account" not in response.json()["detail"]
    assert login(first, email, PASSWORD, address()).status_code == 200


def test_a_successful_login_resets_the_accounts_count(servers: list[Server]) -> None:
    first, second = servers
    email, client = new_account(first), address()
    for _ in range(2):
        for _ in range(ACCOUNT_LIMIT - 1):
            assert login(first, email, "wrong password 1", client).status_code == 401
        assert login(second, email, PASSWORD, client).status_code == 200
    assert login(first, email, "wrong password 1", client).status_code == 401


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(
    servers: list[Server],
) -> None:
    # Each attempt is counted before its password is checked, in one transaction with the
    # check of the limit: however many arrive at once, only ACCOUNT_LIMIT reach argon2.
    email, client = new_account(servers[0]), address()
    with ThreadPoolExecutor(16) as pool:
        answers = list(
            pool.map(
                lambda n: login(servers[n % 2], email, f"guess {n} wrong", client).status_code,
                range(24),
            )
        )
    assert sorted(answers) == [401] * ACCOUNT_LIMIT + [429] * (24 - ACCOUNT_LIMIT)


def test_unknown_user_and_wrong_password_are_throttled_alike(servers: list[Server]) -> None:
    # The throttle keys on the email as sent: whether it has an account changes nothing.
    server = servers[0]
    answers = {}
    for email in (new_account(server), f"nobody-{uuid.uuid4().hex[:8]}@example.com"):
        client = address()
        seen = [login(server, email, "wrong password 1", client) for _ in range(ACCOUNT_LIMIT + 1)]
        # The wait is counted from the limit-th attempt: compare its words, not its seconds.
        answers[email] = [
            (r.status_code, re.sub(r"\d+ s", "N s", r.json()["detail"])) for r in seen
        ]
    known, unknown = answers.values()
    assert known == unknown
    assert [status for status, _ in known] == [401] * ACCOUNT_LIMIT + [429]
