"""Where the CLI keeps what outlives a command: credentials and uploads to resume."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import platformdirs

if sys.platform != "win32":
    import fcntl


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


class TokenStore(Protocol):
    """Where a client keeps its access and refresh tokens between processes."""

    def locked(self) -> AbstractContextManager[None]:
        """A context in which no other process refreshes the same tokens."""

    def load_tokens(self) -> tuple[str | None, str | None]:
        """The stored access and refresh tokens."""

    def save_tokens(self, access: str, refresh: str) -> None:
        """Replace the stored tokens with a refreshed pair."""


class Credentials:
    """The server URL and tokens saved by `lfp login` (mode 0600): a `TokenStore`."""

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / "credentials.json"

    def load(self) -> dict[str, Any]:
        """The saved `{url, token, refresh_token, email}`, or {} before any login."""
        return _read(self.path)

    def save(self, url: str, token: str, email: str, refresh_token: str | None = None) -> None:
        """Remember a login."""
        data = {"url": url, "token": token, "refresh_token": refresh_token, "email": email}
        _write_private(self.path, data)

    def forget(self) -> None:
        """Drop the saved login (`lfp logout`)."""
        self.path.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on `credentials.lock` beside the file (not on Windows)."""
        if sys.platform == "win32":
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load_tokens(self) -> tuple[str | None, str | None]:
        """The saved access and refresh tokens."""
        data = self.load()
        return data.get("token"), data.get("refresh_token")

    def save_tokens(self, access: str, refresh: str) -> None:
        """Keep a refreshed pair, with the rest of the login as it was."""
        data = self.load()
        data.update(token=access, refresh_token=refresh)
        _write_private(self.path, data)


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
        value = self._entry(key).get("upload_id")
        return str(value) if value else None

    def sha256(self, key: str) -> str | None:
        """The file's sha256 computed by an earlier run for `key` (hashing is not redone)."""
        value = self._entry(key).get("sha256")
        return str(value) if value else None

    def put(self, key: str, upload_id: str | None = None, *, sha256: str | None = None) -> None:
        """Remember `upload_id` and/or the file's `sha256` for `key`."""
        data = _read(self.path)
        entry = self._entry(key, data)
        entry.update({k: v for k, v in (("upload_id", upload_id), ("sha256", sha256)) if v})
        data[key] = entry
        _write_private(self.path, data)

    def _entry(self, key: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """`{upload_id?, sha256?}` for `key`; a plain id is how older versions kept it."""
        value = (_read(self.path) if data is None else data).get(key)
        if isinstance(value, dict):
            return dict(value)
        return {"upload_id": value} if isinstance(value, str) and value else {}

    def forget(self, key: str) -> None:
        """Drop `key` once its upload is done."""
        data = _read(self.path)
        if data.pop(key, None) is not None:
            _write_private(self.path, data)
