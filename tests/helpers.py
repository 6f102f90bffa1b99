"""Helpers shared by the integration tests: servers, users, data, polling."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

# The clone's root folder (the team's shared folder sits beside it).
REPOSITORY = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
CHUNK = 5 * MiB  # the smallest chunk size lfp allows for multi-chunk uploads
PASSWORD = "Correct horse 1"
T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def local_store_only(backend: str) -> None:
    """Skip a test that looks at the local store's files when blobs are on S3."""
    if backend.endswith("-s3"):
        import pytest

        pytest.skip("the test reads or damages the local store's files directly")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortTaken(Exception):
    """The port a server was to listen on was taken before it could bind it."""


@dataclass
class Server:
    """A real `lfp serve` process on a free port, restartable on the same data."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's output goes."""
        return self.data_dir / "server.log"

    def start(self) -> None:
        """Start the process and wait until /healthz answers.

        Another test process (pytest-xdist) may take the port between `free_port` and the
        server's bind: the server then exits at once, and starts again on another port.
        """
        for _ in range(3):
            try:
                self._start_once()
                return
            except PortTaken:
                self.port = free_port()
        raise AssertionError(f"no free port for the server:\n{self.log()}")

    def _start_once(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LFP_DATA_DIR": str(self.data_dir), **self.env}
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it
        command = [sys.executable, "-m", "lfp.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()
        process = self.process

        def healthy() -> bool:
            if process.poll() is not None:
                if "address already in use" in self.log()[logged:]:
                    raise PortTaken(self.port)
                raise AssertionError(f"server exited with {process.returncode}:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        # Generous: on a loaded 2-core machine a start (imports, migrations) can take long.
        wait_until(healthy, 120, "the server to answer /healthz")

    def kill(self) -> None:
        """Kill the process outright (SIGKILL), as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the process gracefully."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        """The server's output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def sign_up(base_url: str) -> Iterator[httpx.Client]:
    """A new user, signed in: a client for /api/v1 with the bearer token set."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=60) as client:
        body = {"email": email, "password": PASSWORD}
        client.post("/auth/signup", json=body).raise_for_status()
        token = client.post("/auth/login", json=body).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def random_file(path: Path, size: int, seed: int) -> Path:
    """A file of `size` pseudo-random bytes, the same for the same seed."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, MiB)
            f.write(rng.randbytes(n))
            left -= n
    return path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MiB):
            hasher.update(block)
    return hasher.hexdigest()


def content_digest(data: bytes) -> str:
    """The Content-Digest header for `data`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def read_chunk(path: Path, index: int, chunk_size: int = CHUNK) -> bytes:
    """Chunk `index` of a file."""
    with open(path, "rb") as f:
        f.seek(index * chunk_size)
        return f.read(chunk_size)


def wait_for_file(api: httpx.Client, file_id: str) -> dict[str, Any]:
    """The file once it is no longer `verifying`."""

    def settled() -> dict[str, Any] | None:
        file: dict[str, Any] = api.get(f"/files/{file_id}").json()
        return file if file["state"] != "verifying" else None

    return wait_until(settled, 120, f"file {file_id} to be verified")


def download_sha256(api: httpx.Client, file_id: str) -> str:
    """Hex sha256 of a file's content as the server streams it."""
    hasher = hashlib.sha256()
    with api.stream("GET", f"/files/{file_id}/content") as response:
        assert response.status_code == 200, response.read()
        for block in response.iter_bytes():
            hasher.update(block)
    return hasher.hexdigest()


def create_upload(api: httpx.Client, size: int | None, **fields: Any) -> dict[str, Any]:
    """A new upload in chunks of 5 MiB (unless said otherwise)."""
    body = {"filename": "data.bin", "size": size, "chunk_size": CHUNK, **fields}
    response = api.post("/uploads", json=body)
    assert response.status_code == 201, response.text
    upload: dict[str, Any] = response.json()
    return upload


FINISHED = ("succeeded", "failed", "cancelled")


def wait_for_job(
    api: httpx.Client, job_id: str, states: tuple[str, ...] = FINISHED, timeout: float = 120
) -> dict[str, Any]:
    """The job once it is in one of `states` (by default: once it has ended)."""

    def reached() -> dict[str, Any] | None:
        response = api.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job if job["state"] in states else None

    return wait_until(reached, timeout, f"job {job_id} to be {' or '.join(states)}")


def gate_params(folder: Path, **extra: Any) -> dict[str, Any]:
    """Params of the test-gate processor: the job runs until `folder/gate` exists, and
    counts its starts in `folder/starts`."""
    return {"gate": str(folder / "gate"), "starts": str(folder / "starts"), **extra}


def upload_small(
    api: httpx.Client, data: bytes, filename: str = "data.bin", **query: str
) -> dict[str, Any]:
    """Store `data` with the one-shot upload (query: processor, params); the file JSON."""
    response = api.post("/files", params=query, files={"file": (filename, data)})
    assert response.status_code == 201, response.text
    file: dict[str, Any] = response.json()
    return file


def operator(
    server: Server, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `lfp users …` as the server's operator: on its settings, database and store."""
    env = {**os.environ, "LFP_DATA_DIR": str(server.data_dir), **server.env}
    command = [sys.executable, "-m", "lfp.cli", "users", *args]
    return subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@contextmanager
def sign_in_admin(server: Server) -> Iterator[httpx.Client]:
    """A new administrator, made with `lfp users create --admin` and signed in."""
    email = f"admin-{uuid.uuid4().hex[:12]}@example.com"
    made = operator(server, "create", email, "--password", PASSWORD, "--admin")
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60) as client:
        answer = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client
