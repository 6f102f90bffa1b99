"""The servers benchmarks/peers.py uploads to, each fresh on a folder of its own: `lfp
serve` (with a signed-in account), copyparty, and a bare @tus/server with a FileStore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from lfp.client import LfpClient
from servers import free_port, wait_healthy

BENCHMARKS = Path(__file__).resolve().parent
EMAIL, PASSWORD = "bench@example.com", "bench password 1"


@contextmanager
def _serve(
    command: list[str], env: dict[str, str], health: str, log: Path
) -> Iterator[psutil.Process]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_healthy(health, process)
            yield psutil.Process(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def lfp_server(folder: Path) -> Iterator[tuple[psutil.Process, LfpClient]]:
    """A fresh `lfp serve` on `folder`/data and a client signed up and in; removed after."""
    folder.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"LFP_DATA_DIR": str(folder / "data"), "LFP_MIN_FREE_BYTES": "0"}
    command = [sys.executable, "-m", "lfp.cli", "serve", "--port", str(port)]
    try:
        with _serve(command, env, f"{base}/healthz", folder / "server.log") as process:
            client = LfpClient(base)
            client.signup(EMAIL, PASSWORD)
            client.login(EMAIL, PASSWORD)
            yield process, client
    finally:
        shutil.rmtree(folder)  # the next run needs the disk space


@contextmanager
def copyparty_server(bin_dir: Path, folder: Path) -> Iterator[tuple[psutil.Process, str, Path]]:
    """A fresh copyparty with one anonymous read-write volume, its URL and the volume's
    folder; removed after.

    Thumbnails are off (nothing to thumbnail, but no thumbnailer should wake up either);
    the up2k database (-e2d, file search and indexing) is off by default.
    """
    volume = folder / "volume"
    volume.mkdir(parents=True)
    port = free_port()
    command = [str(bin_dir / "copyparty"), "-i", "127.0.0.1", "-p", str(port)]
    command += ["-v", f"{volume}::rw", "--hist", str(folder / "hist"), "-q"]
    command += ["--no-thumb", "--http-only"]
    # Its config folder (sessions, certificates) stays in the benchmark's folder, not in ~.
    env = {"XDG_CONFIG_HOME": str(folder / "config")}
    url = f"http://127.0.0.1:{port}/"
    try:
        with _serve(command, env, url, folder / "server.log") as process:
            yield process, url, volume
    finally:
        shutil.rmtree(folder)


@contextmanager
def tus_peer_server(node: Path, folder: Path) -> Iterator[tuple[psutil.Process, str, Path]]:
    """A fresh @tus/server storing in a FileStore folder: its endpoint and that folder."""
    store = folder / "store"
    store.mkdir(parents=True)
    port = free_port()
    script = BENCHMARKS / "tus_peer_server.mjs"
    command = ["node", str(script), str(port), str(store)]
    endpoint = f"http://127.0.0.1:{port}/files/"
    try:
        with _serve(command, {"PEERS_NODE": str(node)}, endpoint, folder / "server.log") as p:
            yield p, endpoint, store
    finally:
        shutil.rmtree(folder)
