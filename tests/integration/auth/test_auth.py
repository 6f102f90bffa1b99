"""Signup, login and the current user, against a real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import PASSWORD


def _email() -> str:
    return f"auth-{uuid.uuid4().hex[:10]}@example.com"


def test_signup_then_login_gives_a_bearer_token(anon: httpx.Client) -> None:
    email = _email()
    created = anon.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201
    assert created.json()["email"] == email
    token = anon.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] > 0
    me = anon.get("/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json() == created.json()


def test_duplicate_email_is_a_conflict(anon: httpx.Client) -> None:
    email = _email()
    anon.post("/auth/signup", json={"email": email, "password": PASSWORD})
    again = anon.post("/auth/signup", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("email", "password", "word"),
    [
        ("not-an-email", PASSWORD, "email"),
        (None, "Short1", "10 characters"),
        (None, "aaaaaaaaaaaa", "kinds"),
        (None, "123456789012", "kinds"),
    ],
)
def test_bad_signups_say_what_is_wrong(
    anon: httpx.Client, email: str | None, password: str, word: str
) -> None:
    response = anon.post("/auth/signup", json={"email": email or _email(), "password": password})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert word in response.json()["detail"]


def test_unknown_user_and_wrong_password_look_the_same(anon: httpx.Client) -> None:
    email = _email()
    anon.post("/auth/signup", json={"email": email, "password": PASSWORD})
    wrong = anon.post("/auth/login", json={"email": email, "password": PASSWORD + "x"})
    unknown = anon.post("/auth/login", json={"email": _email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup"])
def test_an_email_with_a_nul_byte_is_refused_as_invalid(anon: httpx.Client, path: str) -> None:
    # PostgreSQL refuses NUL in text: a login with one once answered 500 there.
    response = anon.post(path, json={"email": "a\x00@example.com", "password": PASSWORD})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "email" in response.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic dXNlcjpwYXNz"])
def test_api_calls_need_a_valid_token(anon: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = anon.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
