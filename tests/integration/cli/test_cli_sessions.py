"""The CLI's session handling: refreshing during a long upload, logout, password change."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, MiB, Server, file_sha256, random_file, wait_until
from tests.integration.cli.conftest import Cli

NEW_PASSWORD = "Another-Passw0rd"


def _signed_up(server: Server, config_dir: Path) -> Cli:
    cli = Cli(server, config_dir)
    email = f"sess-cli-{uuid.uuid4().hex[:10]}@example.com"
    result = cli.run("signup", "--email", email, "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    return cli


def _status(server: Server, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/v1/auth/me", headers=headers, timeout=30).status_code


@pytest.fixture(scope="module")
def short_lived(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server whose access tokens live 2 s."""
    return start_module_server(backend, LFP_TOKEN_LIFETIME_SECONDS="2")


def test_an_upload_outlasting_its_access_token_refreshes_and_completes(
    short_lived: Server, tmp_path: Path
) -> None:
    cli = _signed_up(short_lived, tmp_path / "config")
    first_token = cli.token()
    assert json.loads((cli.config_dir / "credentials.json").read_text())["refresh_token"]
    source = random_file(tmp_path / "long.bin", 400 * MiB, seed=21)
    running = cli.start("upload", str(source), "--chunk-size", "5MiB", "--parallel", "2")
    try:
        wait_until(
            lambda: "PUT /api/v1/uploads/" in short_lived.log(), 60, "the first chunks to arrive"
        )
        # Held still until its access token is refused, the upload surely outlasts it.
        running.send_signal(signal.SIGSTOP)
        wait_until(
            lambda: _status(short_lived, first_token) == 401, 60, "the access token to expire"
        )
    finally:
        running.send_signal(signal.SIGCONT)
    stdout, stderr = running.communicate(timeout=300)
    assert running.returncode == 0, stderr
    assert file_sha256(source) in stdout
    assert 'POST /api/v1/auth/refresh HTTP/1.1" 200' in short_lived.log()
    # The refreshed pair was saved: the next command goes on with it.
    assert cli.token() != first_token
    listed = cli.run("files")
    assert listed.returncode == 0, listed.stderr
    assert "long.bin" in listed.stdout


def test_logout_ends_the_session_and_forgets_the_login(server: Server, tmp_path: Path) -> None:
    cli = _signed_up(server, tmp_path / "config")
    token = cli.token()
    result = cli.run("logout")
    assert result.returncode == 0, result.stderr
    assert not (cli.config_dir / "credentials.json").exists()
    assert _status(server, token) == 401
    after = cli.run("files")
    assert after.returncode == 1
    assert "lfp login" in after.stderr


def test_password_change_keeps_this_cli_signed_in_and_ends_other_sessions(
    server: Server, tmp_path: Path
) -> None:
    cli = _signed_up(server, tmp_path / "config")
    old_token = cli.token()
    wrong = cli.run("password", "--current", "Not-the-passw0rd", "--new", NEW_PASSWORD)
    assert wrong.returncode == 1
    assert "current password is wrong" in wrong.stderr
    changed = cli.run("password", "--current", PASSWORD, "--new", NEW_PASSWORD)
    assert changed.returncode == 0, changed.stderr
    assert _status(server, old_token) == 401
    assert _status(server, cli.token()) == 200
    assert cli.run("files").returncode == 0
