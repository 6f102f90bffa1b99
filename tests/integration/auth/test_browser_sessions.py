"""The web pages' sessions over HTTP: the cookie, its CSRF token, and ending it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.helpers import PASSWORD, Server, operator

NEW_PASSWORD = "Another-Passw0rd"


def _account(anon: httpx.Client) -> dict[str, str]:
    body = {"email": f"web-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    anon.post("/auth/signup", json=body).raise_for_status()
    return body


def _me_with_cookie(anon: httpx.Client, token: str) -> httpx.Response:
    """`GET /auth/me` sending `token` as the session cookie, as a browser that kept it would."""
    return anon.get("/auth/me", headers={"Cookie": f"lfp_session={token}"})


@contextmanager
def _browser(
    server: Server, account: dict[str, str]
) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A client holding a browser session's cookies, and the sign-in's answer."""
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as client:
        answer = client.post("/auth/browser-session", json=account)
        assert answer.status_code == 200, answer.text
        yield client, answer.json()


def test_the_cookie_session_reads_freely_and_changes_with_its_csrf_token(
    server: Server, anon: httpx.Client
) -> None:
    account = _account(anon)
    with _browser(server, account) as (browser, signed_in):
        assert signed_in["email"] == account["email"]
        assert browser.cookies["lfp_csrf"] == signed_in["csrf_token"]
        assert browser.get("/auth/me").json()["email"] == account["email"]

        body = {"filename": "x.bin", "size": 10}
        for headers in ({}, {"X-CSRF-Token": "f" * 64}):
            refused = browser.post("/uploads", json=body, headers=headers)
            assert refused.status_code == 403, refused.text
            assert "X-CSRF-Token" in refused.json()["detail"]
        made = browser.post(
            "/uploads", json=body, headers={"X-CSRF-Token": signed_in["csrf_token"]}
        )
        assert made.status_code == 201, made.text


def test_a_cookie_token_is_no_bearer_token_and_a_bearer_token_no_cookie(
    server: Server, anon: httpx.Client
) -> None:
    account = _account(anon)
    with _browser(server, account) as (browser, _):
        cookie = browser.cookies["lfp_session"]
        as_bearer = anon.get("/auth/me", headers={"Authorization": f"Bearer {cookie}"})
        assert as_bearer.status_code == 401 and "browser" in as_bearer.json()["detail"]
    api_token = anon.post("/auth/login", json=account).json()["access_token"]
    as_cookie = _me_with_cookie(anon, api_token)
    assert as_cookie.status_code == 401 and "cookie" in as_cookie.json()["detail"]


def test_signing_out_a_password_change_and_disabling_end_the_cookie_session(
    server: Server, anon: httpx.Client
) -> None:
    account = _account(anon)
    with _browser(server, account) as (first, signed_in):
        cookie = first.cookies["lfp_session"]
        csrf = {"X-CSRF-Token": signed_in["csrf_token"]}
        assert first.delete("/auth/browser-session", headers=csrf).status_code == 204
        assert "lfp_session" not in first.cookies  # told to forget it
        kept = _me_with_cookie(anon, cookie)  # a copy kept anyway
        assert kept.status_code == 401 and "signed out" in kept.json()["detail"]

    with _browser(server, account) as (second, _):
        cookie = second.cookies["lfp_session"]
        bearer = anon.post("/auth/login", json=account).json()["access_token"]
        changed = anon.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert changed.status_code == 200, changed.text
        assert _me_with_cookie(anon, cookie).status_code == 401

    account["password"] = NEW_PASSWORD
    with _browser(server, account) as (third, _):
        assert operator(server, "disable", account["email"]).returncode == 0
        refused = third.get("/auth/me")
        assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
        assert anon.post("/auth/browser-session", json=account).status_code == 403


def test_the_cookies_are_secure_behind_an_https_proxy(server: Server, anon: httpx.Client) -> None:
    account = _account(anon)
    plain = anon.post("/auth/browser-session", json=account)
    # The test client is 127.0.0.1, the proxy uvicorn trusts by default (FORWARDED_ALLOW_IPS).
    proxied = anon.post(
        "/auth/browser-session", json=account, headers={"X-Forwarded-Proto": "https"}
    )
    for answer, secure in ((plain, False), (proxied, True)):
        assert answer.status_code == 200, answer.text
        cookies = answer.headers.get_list("set-cookie")
        assert len(cookies) == 2
        for cookie in cookies:
            assert "SameSite=lax" in cookie and "Path=/" in cookie
            assert ("Secure" in cookie) is secure, cookie
        assert ("HttpOnly" in cookies[0]) and cookies[0].startswith("lfp_session=")
        assert "HttpOnly" not in cookies[1] and cookies[1].startswith("lfp_csrf=")
