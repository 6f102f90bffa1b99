"""`lfp users`: the operator's commands, run against the database of a real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import PASSWORD, Server, operator
from tests.integration.cli.conftest import Cli


def _email() -> str:
    return f"op-{uuid.uuid4().hex[:10]}@example.com"


def _ok(server: Server, *args: str, stdin: str | None = None) -> str:
    done = operator(server, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _json(server: Server, *args: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_ok(server, *args, "--json"))
    return body


def _fails(server: Server, *args: str, code: int = 1) -> str:
    done = operator(server, *args)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


def _login(server: Server, email: str) -> httpx.Response:
    body = {"email": email, "password": PASSWORD}
    return httpx.post(f"{server.url}/api/v1/auth/login", json=body, timeout=30)


def test_create_makes_accounts_and_the_first_administrator(server: Server) -> None:
    admin, user = _email(), _email()
    made = _json(server, "create", admin, "--password", PASSWORD, "--admin")
    assert (made["email"], made["role"], made["disabled"]) == (admin, "admin", False)
    assert "created: " + user in _ok(server, "create", user, "--password", PASSWORD)

    token = _login(server, admin).json()["access_token"]
    listed = httpx.get(
        f"{server.url}/api/v1/admin/users",
        params={"email": user},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert listed.status_code == 200 and listed.json()["items"][0]["role"] == "user"

    rows = [line.split("\t") for line in _ok(server, "list", "--email", "op-").splitlines()]
    assert [admin, "admin", "enabled"] in [row[1:4] for row in rows]
    page = _json(server, "list", "--email", user)
    assert [item["email"] for item in page["items"]] == [user] and page["total"] == 1

    assert "already exists" in _fails(server, "create", user, "--password", PASSWORD)
    assert "10 characters" in _fails(server, "create", _email(), "--password", "short")
    assert "not an email address" in _fails(server, "create", "nobody", "--password", PASSWORD)


def test_disable_stops_a_signed_in_cli_at_once_and_enable_lets_it_sign_in_again(
    server: Server, tmp_path: Path
) -> None:
    cli = Cli(server, tmp_path / "config")
    email = _email()
    assert cli.run("signup", "--email", email, "--password", PASSWORD).returncode == 0
    assert cli.run("files").returncode == 0

    assert _json(server, "disable", email)["disabled"] is True
    refused = cli.run("files")
    assert refused.returncode == 1 and "disabled" in refused.stderr, refused.stderr
    assert _login(server, email).status_code == 403

    assert _json(server, "enable", email)["disabled"] is False
    assert cli.run("login", "--email", email, "--password", PASSWORD).returncode == 0
    assert cli.run("files").returncode == 0


def test_set_quota_and_set_role(server: Server) -> None:
    email = _email()
    user_id = _json(server, "create", email, "--password", PASSWORD)["id"]
    limited = _json(server, "set-quota", user_id, "--bytes", "1.5GiB", "--uploads", "3")
    assert (limited["quota_bytes"], limited["max_open_uploads"]) == (1.5 * 1024**3, 3)
    unlimited = _json(server, "set-quota", email, "--uploads", "unlimited")
    assert (unlimited["quota_bytes"], unlimited["max_open_uploads"]) == (1.5 * 1024**3, 0)
    reset = _json(server, "set-quota", email, "--bytes", "default", "--uploads", "default")
    assert reset["quota_is_default"] and reset["max_open_uploads_is_default"]

    assert "cannot read 'lots' as a size" in _fails(
        server, "set-quota", email, "--bytes", "lots", code=2
    )
    assert "say what to set" in _fails(server, "set-quota", email)
    assert _json(server, "set-role", email, "admin")["role"] == "admin"
    assert "role must be one of" in _fails(server, "set-role", email, "king")


def test_delete_asks_first_and_removes_the_account(server: Server) -> None:
    email = _email()
    _ok(server, "create", email, "--password", PASSWORD)
    kept = operator(server, "delete", email, stdin="n\n")
    assert kept.returncode == 1 and "delete " + email in kept.stdout
    assert _login(server, email).status_code == 200

    assert "deleted " + email in _ok(server, "delete", email, "--yes")
    assert _login(server, email).status_code == 401
    assert "no user " + email in _fails(server, "delete", email, "--yes")
    assert "no user" in _fails(server, "disable", str(uuid.uuid4()))
