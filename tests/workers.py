"""A real `lfp worker` process for integration tests, restartable like `Server`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import IN_CI
from tests.helpers import wait_until

# Celery logs "<node name> ready." (lfp's node names are lfp-<pid>@<host>) once the worker
# consumes its queue: from then on it takes jobs.
READY = re.compile(rb"(\S+@\S+) ready\.")


def require_broker(url: str) -> None:
    """Skip the test when the broker at `url` cannot be reached; in CI, fail it instead."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=3):
            return
    except OSError as exc:
        reason = f"{parts.scheme} broker at {host}:{port} is not reachable ({exc})"
    if IN_CI:
        pytest.fail(f"{reason}; CI must test the Celery executor on it")
    pytest.skip(reason)


@dataclass
class Worker:
    """`python -m lfp.cli worker` on a server's data dir, database and broker.

    `env` must carry what the worker shares with its API server: LFP_DATABASE_URL,
    LFP_BROKER_URL, PYTHONPATH (for plugin processors) and LFP_JOB_LEASE_SECONDS.
    """

    data_dir: Path
    env: dict[str, str]
    name: str = "worker"
    concurrency: int = 2
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where the worker's output goes (appended to across restarts)."""
        return self.data_dir / f"{self.name}.log"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process and wait until Celery says it is ready to take jobs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LFP_DATA_DIR": str(self.data_dir), **self.env}
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it
        command = [
            sys.executable,
            "-m",
            "lfp.cli",
            "worker",
            "--concurrency",
            str(self.concurrency),
        ]
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{self.log()}")
            # Only this start's output counts: the log keeps earlier runs' lines.
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return READY.search(f.read()) is not None

        wait_until(ready, 60, f"{self.name} to be ready")

    def kill(self) -> None:
        """Kill the process outright (SIGKILL), as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def terminate(self, timeout: float = 30) -> int:
        """Send SIGTERM (Celery's warm shutdown) and wait; the exit code.

        Raises `subprocess.TimeoutExpired` when the worker does not exit within `timeout`.
        """
        assert self.process is not None, "the worker was never started"
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop the process gracefully, killing it if it does not end in time."""
        if self.process and self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        """The worker's output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def node_names(self) -> list[str]:
        """The Celery node names the worker's log says it was ready as, one per start."""
        return [m.decode() for m in READY.findall(self.log().encode())]
