"""Where the CLI keeps what outlives a command: credentials and uploads to resume."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs


def default_config_dir() -> Path:
    """The per-user folder for lfp's client files."""
    return Path(platformdirs.user_config_dir("lfp"))


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON readable by the owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Credentials:
    """The server URL and token saved by `lfp login` (mode 0600)."""

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / "credentials.json"

    def load(self) -> dict[str, Any]:
        """The saved `{url, token, email}`, or {} before any login."""
        return _read(self.path)

    def save(self, url: str, token: str, email: str) -> None:
        """Remember a login."""
        _write_private(self.path, {"url": url, "token": token, "email": email})


class ResumeState:
    """Uploads in progress, keyed by file identity, so a rerun resumes instead of restarting."""

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / "uploads.json"

    @staticmethod
    def key(path: Path, chunk_size: int | None, server: str) -> str:
        """What identifies "the same upload": file, size, mtime, chunk size and server."""
        stat = path.stat()
        return f"{server}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{chunk_size}"

    def get(self, key: str) -> str | None:
        """The upload id remembered for `key`."""
        value = _read(self.path).get(key)
        return str(value) if value else None

    def put(self, key: str, upload_id: str) -> None:
        """Remember `upload_id` for `key`."""
        data = _read(self.path)
        data[key] = upload_id
        _write_private(self.path, data)

    def forget(self, key: str) -> None:
        """Drop `key` once its upload is done."""
        data = _read(self.path)
        if data.pop(key, None) is not None:
            _write_private(self.path, data)
