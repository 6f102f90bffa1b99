"""Sessions: refresh rotation, reuse detection, logout, password changes and expiry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, Server, wait_until

NEW_PASSWORD = "Another-Passw0rd"


def _account(anon: httpx.Client) -> dict[str, str]:
    body = {"email": f"sess-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    anon.post("/auth/signup", json=body).raise_for_status()
    return body


def _login(anon: httpx.Client, account: dict[str, str]) -> dict[str, Any]:
    answer = anon.post("/auth/login", json=account)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def _me(anon: httpx.Client, tokens: dict[str, Any]) -> httpx.Response:
    return anon.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})


def _refresh(anon: httpx.Client, tokens: dict[str, Any]) -> httpx.Response:
    return anon.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


def _refused(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert words in answer.json()["detail"]


def test_login_returns_an_access_and_a_refresh_token(anon: httpx.Client) -> None:
    tokens = _login(anon, _account(anon))
    assert tokens["token_type"] == "bearer"
    assert tokens["refresh_token"].startswith("lfp_rt_")
    assert 0 < tokens["expires_in"] < tokens["refresh_expires_in"]
    assert _me(anon, tokens).status_code == 200


def test_refresh_rotates_the_refresh_token(anon: httpx.Client) -> None:
    first = _login(anon, _account(anon))
    answer = _refresh(anon, first)
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _me(anon, second).status_code == 200
    third = _refresh(anon, second)
    assert third.status_code == 200
    assert _me(anon, third.json()).status_code == 200


def test_a_reused_refresh_token_revokes_the_whole_session(anon: httpx.Client) -> None:
    account = _account(anon)
    first = _login(anon, account)
    second = _refresh(anon, first).json()
    other_session = _login(anon, account)

    _refused(_refresh(anon, first), "already used")
    # The thief's copy and the rightful holder's newer tokens die together.
    _refused(_refresh(anon, second), "used twice")
    _refused(_me(anon, second), "used twice")
    _refused(_me(anon, first), "used twice")
    # Another session of the same account is not affected.
    assert _me(anon, other_session).status_code == 200
    assert _refresh(anon, other_session).status_code == 200


def test_an_unknown_refresh_token_is_refused(anon: httpx.Client) -> None:
    _refused(_refresh(anon, {"refresh_token": "lfp_rt_nonsense"}), "not valid")


def test_logout_revokes_the_session_at_once(anon: httpx.Client) -> None:
    account = _account(anon)
    tokens = _login(anon, account)
    other = _login(anon, account)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert anon.post("/auth/logout", headers=auth).status_code == 204
    _refused(_me(anon, tokens), "signed out")  # the very next request
    _refused(_refresh(anon, tokens), "signed out")
    assert _me(anon, other).status_code == 200


def test_a_password_change_revokes_every_session(anon: httpx.Client) -> None:
    account = _account(anon)
    first, second = _login(anon, account), _login(anon, account)
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    wrong = {"current_password": "Not-the-passw0rd", "new_password": NEW_PASSWORD}
    refused = anon.post("/auth/password", json=wrong, headers=auth)
    assert refused.status_code == 403
    assert "current password" in refused.json()["detail"]
    weak = anon.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=auth
    )
    assert weak.status_code == 422

    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = anon.post("/auth/password", json=body, headers=auth)
    assert changed.status_code == 200, changed.text
    for old in (first, second):
        _refused(_me(anon, old), "password changed")
        _refused(_refresh(anon, old), "password changed")
    assert _me(anon, changed.json()).status_code == 200
    assert anon.post("/auth/login", json=account).status_code == 401
    assert _me(anon, _login(anon, {**account, "password": NEW_PASSWORD})).status_code == 200


def test_guessing_the_current_password_is_throttled_like_logins(anon: httpx.Client) -> None:
    tokens = _login(anon, _account(anon))
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = {"current_password": "Not-the-passw0rd", "new_password": NEW_PASSWORD}
    answers = [anon.post("/auth/password", json=wrong, headers=auth) for _ in range(6)]
    assert [a.status_code for a in answers] == [403] * 5 + [429]  # LFP_LOGIN_ACCOUNT_FAILURES
    assert int(answers[-1].headers["retry-after"]) > 0


def test_a_token_without_a_session_is_refused(anon: httpx.Client) -> None:
    _refused(anon.get("/auth/me", headers={"Authorization": "Bearer x.y.z"}), "invalid")


@pytest.fixture(scope="module")
def short_lived(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server whose access tokens live 2 s."""
    return start_module_server(backend, LFP_TOKEN_LIFETIME_SECONDS="2")


def test_an_expired_access_token_is_refused_until_refreshed(short_lived: Server) -> None:
    with httpx.Client(base_url=f"{short_lived.url}/api/v1", timeout=30) as anon:
        tokens = _login(anon, _account(anon))
        assert tokens["expires_in"] == 2

        def refused() -> httpx.Response | None:
            answer = _me(anon, tokens)
            return answer if answer.status_code == 401 else None

        _refused(wait_until(refused, 30, "the access token to expire"), "expired")
        fresh = _refresh(anon, tokens)
        assert fresh.status_code == 200, fresh.text
        assert _me(anon, fresh.json()).status_code == 200
