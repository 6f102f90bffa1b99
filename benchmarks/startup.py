"""How fast the `lfp` command starts, as a ratio to a bare `python -c pass` in the same run.

A user runs `lfp` dozens of times a day; each start should feel instant (the issue's bar:
well under a second). Times, best and median of `--runs` starts each:

- `python -c pass` (the interpreter alone: the baseline);
- `lfp --help` and `lfp upload --help` (parsing only);
- `lfp files` against a real `lfp serve` (a client command: imports, one request);
- `lfp --help` with PYTHONDONTWRITEBYTECODE=1 (a machine that never writes bytecode must
  find it compiled at install).

Usage: .venv/bin/python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from servers import free_port, wait_healthy

PYTHON = sys.executable
LFP = [PYTHON, "-m", "lfp.cli"]


def timed(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Best and median wall seconds of `runs` runs of `command` (which must succeed)."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        took.append(time.perf_counter() - started)
    return min(took), statistics.median(took)


@contextmanager
def signed_in_server(folder: Path) -> Iterator[dict[str, str]]:
    """A real `lfp serve` on a fresh data dir, and the env of a CLI signed in to it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = {**os.environ, "LFP_DATA_DIR": str(folder / "data"), "LFP_MIN_FREE_BYTES": "0"}
    process = subprocess.Popen(
        [*LFP, "serve", "--port", str(port)],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"{url}/healthz", process)
        credentials = {"email": "bench@example.com", "password": "correct horse 9 battery"}
        httpx.post(f"{url}/api/v1/auth/signup", json=credentials).raise_for_status()
        cli_env = {**os.environ, "LFP_URL": url, "LFP_CONFIG_DIR": str(folder / "config")}
        subprocess.run(
            [*LFP, "login", "--email", credentials["email"], "--password", credentials["password"]],
            env=cli_env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield cli_env
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    """Measure each start and print it beside the bare interpreter's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    no_bytecode = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as folder, signed_in_server(Path(folder)) as cli_env:
        cases = [
            ("python -c pass", [PYTHON, "-c", "pass"], env),
            ("lfp --help", [*LFP, "--help"], env),
            ("lfp upload --help", [*LFP, "upload", "--help"], env),
            ("lfp files (one request)", [*LFP, "files"], cli_env),
            ("lfp --help, no bytecode writes", [*LFP, "--help"], no_bytecode),
        ]
        results = [(name, *timed(command, e, args.runs)) for name, command, e in cases]
    baseline = results[0][2]
    print(f"{'command':<34}{'best':>9}{'median':>9}{'x python':>10}")
    for name, best, median in results:
        print(f"{name:<34}{best:>8.3f}s{median:>8.3f}s{median / baseline:>9.1f}x")


if __name__ == "__main__":
    main()
