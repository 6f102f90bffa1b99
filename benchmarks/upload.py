"""Upload throughput and server memory, against baselines measured in the same run.

Uploads a file (default 2 GiB) over loopback with lfp's own client (8 MiB chunks, 4 in
parallel) to a real `lfp serve` on a fresh data dir, and prints:

- lfp's MB/s until every chunk is stored, and until the file is verified and `ready`;
- the server's peak RSS, sampled every 20 ms throughout;
- `cp` of the same file on the same disk (the issue's target: lfp at least as fast);
- a bare uvicorn app that only writes request bodies to disk at their offsets, fed by the
  same client pattern: the ceiling for any Python ASGI server on this machine;
- tus: a real tus client (tuspy) sending the file in one stream of 8 MiB PATCHes, with and
  without per-PATCH sha1 checksums, beside the bare writer fed one chunk at a time.

Usage: .venv/bin/python benchmarks/upload.py [--size-mib 2048] [--keep-file PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from tusclient.client import TusClient

from lfp.client import LfpClient
from peer_measure import random_file
from servers import free_port, wait_healthy

MiB = 1024 * 1024
CHUNK = 8 * MiB
PARALLEL = 4

BARE_WRITER = """
import os
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = os.path.join(os.environ["BENCH_DIR"], "bare.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    offset = int(scope["path"].rsplit("/", 1)[-1]) * int(os.environ["BENCH_CHUNK"])
    while True:
        message = await receive()
        body = message.get("body", b"")
        os.pwrite(fd, body, offset)
        offset += len(body)
        if not message.get("more_body"):
            break
    os.close(fd)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        source = args.keep_file or work / "input.bin"
        size = args.size_mib * MiB
        if not source.exists() or source.stat().st_size != size:
            print(f"writing a {args.size_mib} MiB random input file ...", flush=True)
            random_file(source, size)

        # Each phase starts with no dirty pages left by the one before, so no phase pays for
        # another's writeback.
        os.sync()
        cp_seconds = _timed(lambda: subprocess.run(["cp", source, work / "copy.bin"], check=True))
        (work / "copy.bin").unlink()
        os.sync()
        bare_seconds = _bare_writer_seconds(source, work, PARALLEL)
        (work / "bare.bin").unlink()
        runs = {}
        for digests in (True, False):
            os.sync()
            runs[digests] = _lfp_seconds(source, work / f"data-{digests}", chunk_digests=digests)
        os.sync()
        bare_one_seconds = _bare_writer_seconds(source, work, 1)
        (work / "bare.bin").unlink()
        tus_runs = {}
        for checksum in (False, True):
            os.sync()
            tus_runs[checksum] = _tus_seconds(source, work / f"tus-{checksum}", checksum=checksum)

    mb = size / 1e6
    print()
    print(f"file: {size / MiB:.0f} MiB, chunks of {CHUNK // MiB} MiB, {PARALLEL} in parallel")
    print(f"cp (same disk)                   {cp_seconds:7.2f} s  {mb / cp_seconds:6.0f} MB/s")
    print(f"bare uvicorn body writer         {bare_seconds:7.2f} s  {mb / bare_seconds:6.0f} MB/s")
    for digests, (stored_s, ready_s, peak_rss) in runs.items():
        label = "lfp, chunk digests (CLI default)" if digests else "lfp, --no-chunk-digests"
        print(f"{label}")
        print(f"  all chunks stored              {stored_s:7.2f} s  {mb / stored_s:6.0f} MB/s")
        print(f"  verified and ready             {ready_s:7.2f} s  {mb / ready_s:6.0f} MB/s")
        print(f"  upload speed / cp              {cp_seconds / stored_s:7.2f}x (target >= 1)")
        print(f"  upload speed / bare writer     {bare_seconds / stored_s:7.2f}x")
        print(f"  server peak RSS                {peak_rss / MiB:7.0f} MiB (target < 200)")
    one = bare_one_seconds
    print(f"bare writer, one chunk at a time {one:7.2f} s  {mb / one:6.0f} MB/s")
    for checksum, tus_s in tus_runs.items():
        label = "sha1 Upload-Checksum" if checksum else "no checksum"
        print(f"tus (tuspy, one stream), {label}")
        print(f"  all bytes stored               {tus_s:7.2f} s  {mb / tus_s:6.0f} MB/s")
        print(f"  speed / bare writer (1 stream) {one / tus_s:7.2f}x")


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@contextmanager
def _server(command: list[str], env: dict[str, str], health: str) -> Iterator[psutil.Process]:
    process = subprocess.Popen(command, env={**os.environ, **env})
    try:
        wait_healthy(health, process)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _chunk_ranges(size: int) -> list[tuple[int, int]]:
    return [(i, min(CHUNK, size - i * CHUNK)) for i in range(-(-size // CHUNK))]


def _bare_writer_seconds(source: Path, work: Path, parallel: int) -> float:
    (work / "bare_app.py").write_text(BARE_WRITER)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(work), "bare_app:app"]
    command += ["--port", str(port), "--log-level", "warning"]
    env = {"BENCH_DIR": str(work), "BENCH_CHUNK": str(CHUNK)}
    base = f"http://127.0.0.1:{port}"
    with _server(command, env, f"{base}/0"):
        local = threading.local()

        def send(index_length: tuple[int, int]) -> None:
            index, length = index_length
            client = getattr(local, "client", None) or httpx.Client(timeout=120)
            local.client = client
            with open(source, "rb") as f:
                f.seek(index * CHUNK)
                body = f.read(length)
            client.put(f"{base}/chunk/{index}", content=body).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(send, _chunk_ranges(source.stat().st_size)))
        return time.perf_counter() - started


@contextmanager
def _lfp(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[psutil.Process, LfpClient]]:
    """A fresh `lfp serve` on `data_dir` and a signed-in client; the data removed after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"LFP_DATA_DIR": str(data_dir), "LFP_MIN_FREE_BYTES": "0", **(extra_env or {})}
    command = [sys.executable, "-m", "lfp.cli", "serve", "--port", str(port)]
    with _server(command, env, f"{base}/healthz") as server:
        client = LfpClient(base)
        client.signup("bench@example.com", "bench password 1")
        client.login("bench@example.com", "bench password 1")
        yield server, client
    shutil.rmtree(data_dir)  # the next run needs the disk space


def _tus_seconds(source: Path, data_dir: Path, *, checksum: bool) -> float:
    with _lfp(data_dir) as (_server_process, client), open(source, "rb") as stream:
        token = client.token
        assert token is not None
        tus = TusClient(
            f"{client.base_url}/api/v1/tus/", headers={"Authorization": f"Bearer {token}"}
        )
        uploader = tus.uploader(
            file_stream=stream,
            chunk_size=CHUNK,
            upload_checksum=checksum,
            metadata={"filename": "x"},
        )
        return _timed(uploader.upload)


def _lfp_seconds(
    source: Path, data_dir: Path, *, chunk_digests: bool, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    with _lfp(data_dir, env) as (server, client):
        peak = [server.memory_info().rss]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                try:
                    peak[0] = max(peak[0], server.memory_info().rss)
                except psutil.Error:
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        stored_at: list[float] = []
        file = client.upload_file(
            source,
            chunk_size=CHUNK,
            parallel=PARALLEL,
            chunk_digests=chunk_digests,
            on_chunks_stored=lambda: stored_at.append(time.perf_counter()),
        )
        ready = time.perf_counter() - started
        done.set()
        sampler.join()
        if file["state"] != "ready":
            raise SystemExit(f"upload ended {file['state']}: {file.get('error')}")
        stored = (stored_at[0] if stored_at else time.perf_counter()) - started
    return stored, ready, peak[0]


if __name__ == "__main__":
    main()
