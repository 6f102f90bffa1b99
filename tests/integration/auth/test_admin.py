"""The admin API: administrators list, create, disable, enable, limit and delete accounts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    PASSWORD,
    Server,
    create_upload,
    sign_in_admin,
    sign_up,
    upload_small,
    wait_for_file,
)


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with sign_in_admin(server) as client:
        yield client


def _account(admin: httpx.Client, email: str | None = None, **fields: Any) -> dict[str, Any]:
    email = email or f"managed-{uuid.uuid4().hex[:10]}@example.com"
    answer = admin.post("/admin/users", json={"email": email, "password": PASSWORD, **fields})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _tokens(anon: httpx.Client, email: str) -> httpx.Response:
    return anon.post("/auth/login", json={"email": email, "password": PASSWORD})


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _change(admin: httpx.Client, user_id: str, **fields: Any) -> dict[str, Any]:
    answer = admin.patch(f"/admin/users/{user_id}", json=fields)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_only_administrators_reach_the_admin_api(
    api: httpx.Client, anon: httpx.Client, admin: httpx.Client
) -> None:
    someone = str(uuid.uuid4())
    calls = [("GET", ""), ("POST", ""), ("GET", f"/{someone}"), ("PATCH", f"/{someone}")]
    calls.append(("DELETE", f"/{someone}"))
    for method, path in calls:
        refused = api.request(method, f"/admin/users{path}", json={})
        assert refused.status_code == 403, (method, path, refused.text)
        assert "administrator" in refused.json()["detail"]
        assert anon.request(method, f"/admin/users{path}", json={}).status_code == 401
    assert admin.get(f"/admin/users/{someone}").status_code == 404


def test_an_administrator_creates_and_lists_accounts(
    admin: httpx.Client, anon: httpx.Client
) -> None:
    email = f"Made-{uuid.uuid4().hex[:10]}@Example.com"
    made = _account(admin, email)
    assert made["email"] == email.lower()
    assert (made["role"], made["disabled"], made["files"], made["used_bytes"]) == (
        "user",
        False,
        0,
        0,
    )
    assert made["quota_is_default"] and made["max_open_uploads_is_default"]
    assert _tokens(anon, email).status_code == 200

    listed = admin.get("/admin/users", params={"email": email.lower(), "per_page": 5}).json()
    assert [item["id"] for item in listed["items"]] == [made["id"]] and listed["total"] == 1
    assert admin.get(f"/admin/users/{made['id']}").json() == made

    taken = admin.post("/admin/users", json={"email": email, "password": PASSWORD})
    assert taken.status_code == 409
    weak = admin.post("/admin/users", json={"email": "w@example.com", "password": "short"})
    assert weak.status_code == 422 and "10 characters" in weak.text
    other_admin = _account(admin, role="admin")
    assert other_admin["role"] == "admin"


def test_a_disabled_account_is_refused_at_once_and_signs_in_anew_once_enabled(
    admin: httpx.Client, anon: httpx.Client
) -> None:
    made = _account(admin)
    tokens = _tokens(anon, made["email"]).json()
    assert anon.get("/auth/me", headers=_as(tokens["access_token"])).status_code == 200

    assert _change(admin, made["id"], disabled=True)["disabled"] is True

    # The access token that worked a moment ago, the refresh token, and a new login.
    for refused in (
        anon.get("/auth/me", headers=_as(tokens["access_token"])),
        anon.post("/uploads", headers=_as(tokens["access_token"]), json={"filename": "x"}),
        anon.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        _tokens(anon, made["email"]),
    ):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "disabled" in refused.json()["detail"]
    wrong = anon.post("/auth/login", json={"email": made["email"], "password": "Wrong pass 123"})
    assert wrong.status_code == 401  # a wrong password says nothing of the account's state

    assert _change(admin, made["id"], disabled=False)["disabled"] is False
    # Enabling does not bring the old sessions back: the owner signs in again.
    assert anon.get("/auth/me", headers=_as(tokens["access_token"])).status_code == 401
    fresh = _tokens(anon, made["email"])
    assert fresh.status_code == 200
    assert anon.get("/auth/me", headers=_as(fresh.json()["access_token"])).status_code == 200


def test_an_administrator_sets_and_resets_a_users_limits(
    server: Server, admin: httpx.Client
) -> None:
    with sign_up(server.url) as user:
        user_id = user.get("/auth/me").json()["id"]
        limited = _change(admin, user_id, quota_bytes=1000, max_open_uploads=1)
        assert (limited["quota_bytes"], limited["max_open_uploads"]) == (1000, 1)
        assert not limited["quota_is_default"]

        over = user.post("/uploads", json={"filename": "big.bin", "size": 2000})
        assert over.status_code == 413, over.text
        assert "operator" in over.json()["detail"]
        create_upload(user, 600, chunk_size=None)
        second = user.post("/uploads", json={"filename": "b.bin", "size": 10})
        assert second.status_code == 507, second.text
        assert "1 open uploads" in second.json()["detail"]
        assert "set for your account by an operator" in second.json()["detail"]

        # A limit left out stays; null puts it back to the server's default.
        kept = _change(admin, user_id, max_open_uploads=None)
        assert kept["quota_bytes"] == 1000 and kept["max_open_uploads_is_default"]
        assert user.post("/uploads", json={"filename": "b.bin", "size": 500}).status_code == 507
        reset = _change(admin, user_id, quota_bytes=None)
        assert reset["quota_is_default"] and reset["quota_bytes"] > 1000
        assert reset["used_bytes"] == 600 and reset["open_uploads"] == 1
        assert user.post("/uploads", json={"filename": "b.bin", "size": 500}).status_code == 201


def _blobs_holding(server: Server, data: bytes) -> list[Path]:
    """The local store's files whose content is `data`."""
    root = server.data_dir / "blobs"
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                found.append(path)
    return found


def test_deleting_an_account_removes_its_things_and_their_bytes(
    server: Server, admin: httpx.Client, anon: httpx.Client, other_api: httpx.Client
) -> None:
    data = os.urandom(70_000)
    with sign_up(server.url) as doomed:
        me = doomed.get("/auth/me").json()
        file = wait_for_file(doomed, upload_small(doomed, data, processor="hash")["id"])
        assert file["state"] == "ready"
        create_upload(doomed, 5000, chunk_size=None)  # an open upload goes with the account
        token = doomed.headers["Authorization"]
        kept = wait_for_file(other_api, upload_small(other_api, data)["id"])
        assert len(_blobs_holding(server, data)) == 2

        assert admin.delete(f"/admin/users/{me['id']}").status_code == 204

        assert anon.get("/auth/me", headers={"Authorization": token}).status_code == 401
        assert _tokens(anon, me["email"]).status_code == 401
        assert admin.get(f"/admin/users/{me['id']}").status_code == 404
        assert admin.delete(f"/admin/users/{me['id']}").status_code == 404
        assert len(_blobs_holding(server, data)) == 1  # the other user's copy
        assert other_api.get(f"/files/{kept['id']}/content").content == data


def test_an_administrator_cannot_lock_themselves_out(admin: httpx.Client) -> None:
    me = admin.get("/auth/me").json()["id"]
    for change in ({"disabled": True}, {"role": "user"}):
        answer = admin.patch(f"/admin/users/{me}", json=change)
        assert answer.status_code == 409, answer.text
    assert admin.delete(f"/admin/users/{me}").status_code == 409
    assert admin.get("/admin/users", params={"per_page": 1}).status_code == 200


def test_bad_changes_get_clear_errors(admin: httpx.Client) -> None:
    made = _account(admin)
    for change, words in (
        ({"quota_bytes": -1}, "greater than or equal to 0"),
        ({"role": "king"}, "'user' or 'admin'"),
        ({"disabled": "maybe"}, "disabled: must be true or false"),
    ):
        answer = admin.patch(f"/admin/users/{made['id']}", json=change)
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]
    assert admin.get("/admin/users", params={"email": "\x00"}).status_code == 422
