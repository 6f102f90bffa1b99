"""The CLI tests' fixtures: `lfp` run as a user would, signed up on a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, Server


class Cli:
    """Runs `lfp` as a user would, with its own config folder."""

    def __init__(self, server: Server, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.env = {**os.environ, "LFP_URL": server.url, "LFP_CONFIG_DIR": str(config_dir)}
        self.env.pop("LFP_TOKEN", None)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lfp.cli", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env=self.env, capture_output=True, text=True, timeout=300
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell starting the suite in the background (`make test &`) hands every child
            # SIGINT ignored; the tests that press Ctrl-C need it back as a user has it.
            preexec_fn=_default_sigint,
        )

    def token(self) -> str:
        return str(json.loads((self.config_dir / "credentials.json").read_text())["token"])

    def upload_with_chunks(self, api: httpx.Client) -> dict[str, Any] | None:
        """The upload this CLI has in progress, once the server has some of its chunks."""
        state = self.config_dir / "uploads.json"
        entries = json.loads(state.read_text()).values() if state.exists() else []
        # An entry is {upload_id, sha256}; the id comes once the file is hashed.
        ids = [e["upload_id"] for e in entries if isinstance(e, dict) and e.get("upload_id")]
        if not ids:
            return None
        upload: dict[str, Any] = api.get(f"/uploads/{ids[0]}").json()
        return upload if upload["received"] else None


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    """A signed-up CLI user."""
    cli = Cli(server, tmp_path / "config")
    email = f"cli-{uuid.uuid4().hex[:10]}@example.com"
    result = cli.run("signup", "--email", email, "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    return cli


def user_api(server: Server, cli: Cli) -> httpx.Client:
    """An API client signed in as `cli`'s user."""
    headers = {"Authorization": f"Bearer {cli.token()}"}
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)
