"""lfp's uploads beside the fastest peers, measured in one run and reported as ratios.

Over loopback, on fresh servers and fresh folders each time, with `os.sync()` between
phases and the rounds interleaved (lfp, copyparty, lfp-tus, @tus/server, then again):

- lfp: the real CLI, `lfp upload --parallel 4`, timed to its exit (it exits once the file
  is `ready`, i.e. verified by the server);
- copyparty with its own client u2c (`-j 4` connections, sha512 chunk hashes), timed to
  u2c's exit with the file complete in the volume (copyparty checked every chunk's hash);
- lfp's tus endpoint fed by tus-js-client in Node (one stream of 8 MiB PATCHes), timed
  until the file is `ready`;
- a bare @tus/server with a FileStore fed by the same tus-js-client script, timed to the
  client's exit (the last PATCH stored).

Each stored file's sha-256 is checked against the source's (lfp: the one it reports;
copyparty and @tus/server: the file in their folder). Measured besides the time: server
CPU seconds and peak RSS (the whole process tree, sampled every 20 ms) and the client's
CPU seconds. `--small` adds a 1 MiB file: lfp's CLI beside u2c, wall time, per file.

The peers are installed by benchmarks/peer_install.py into benchmarks/.peers/ (never
dependencies of lfp). Figures and their targets (issue 14): docs/performance.md.

Usage: .venv/bin/python benchmarks/peers.py [--size-mib 1024] [--rounds 2] [--small]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfp.client import LfpClient
from peer_install import copyparty_bin, node_folder
from peer_measure import ClientRun, MiB, ServerWatch, random_file, run_client, sha256_of
from peer_servers import BENCHMARKS, copyparty_server, lfp_server, tus_peer_server

GiB = 1024 * MiB
LFP_CLI = Path(sys.executable).parent / "lfp"
TUS_UPLOAD = BENCHMARKS / "tus_upload.mjs"
READY_TIMEOUT = 600.0


@dataclass
class Run:
    """One upload: wall seconds to done, server CPU and peak RSS, client CPU."""

    seconds: float
    server_cpu: float
    peak_rss: int
    client_cpu: float


@dataclass
class Peers:
    """Where the peers are installed, and the source file with its sha-256."""

    bin_dir: Path
    node: Path
    source: Path
    sha256: str


def _check(what: str, got: str, want: str) -> None:
    if got != want:
        raise SystemExit(f"{what}: stored sha-256 {got} is not the source's {want}")


def _lfp_cli(client: LfpClient, source: Path, folder: Path) -> tuple[ClientRun, dict[str, Any]]:
    """`lfp upload --parallel 4 --json` run to its exit, and the file it reports."""
    assert client.token is not None
    env = {"LFP_URL": client.base_url, "LFP_TOKEN": client.token}
    env["LFP_CONFIG_DIR"] = str(folder / f"cli-{source.stem}")
    command = [str(LFP_CLI), "upload", "--parallel", "4", "--json", str(source)]
    run = run_client(command, env, folder / f"cli-{source.stem}.log")
    file: dict[str, Any] = json.loads(run.stdout)[0]
    if file["state"] != "ready":
        raise SystemExit(f"lfp upload ended {file['state']}: {file.get('error')}")
    return run, file


def lfp_cli_run(peers: Peers, folder: Path) -> Run:
    """lfp's CLI to a fresh `lfp serve`, timed to its exit (the file verified, ready)."""
    with lfp_server(folder) as (process, client):
        with ServerWatch(process) as watch:
            run, file = _lfp_cli(client, peers.source, folder)
        _check("lfp", file["sha256"], peers.sha256)
    return Run(run.seconds, watch.cpu_seconds, watch.peak_rss, run.cpu_seconds)


def _wait_complete(path: Path, size: int) -> None:
    """Return once copyparty shows `path` whole under its final name (it renames the
    partial file on completion); u2c has normally exited after that already."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not (path.exists() and path.stat().st_size == size):
        if time.monotonic() > deadline:
            raise SystemExit(f"copyparty never completed {path}")
        time.sleep(0.02)


def _u2c(bin_dir: Path, url: str, volume: Path, source: Path, log: Path) -> tuple[float, float]:
    """u2c with 4 connections, timed until its exit and the file complete; (wall, CPU)."""
    started = time.perf_counter()
    command = [str(bin_dir / "u2c"), "-j", "4", "-ns", url, str(source)]
    run = run_client(command, {}, log)
    _wait_complete(volume / source.name, source.stat().st_size)
    return time.perf_counter() - started, run.cpu_seconds


def copyparty_run(peers: Peers, folder: Path) -> Run:
    """u2c to a fresh copyparty, timed until copyparty holds the complete file."""
    with copyparty_server(peers.bin_dir, folder) as (process, url, volume):
        with ServerWatch(process) as watch:
            seconds, cpu = _u2c(peers.bin_dir, url, volume, peers.source, folder / "u2c.log")
        _check("copyparty", sha256_of(volume / peers.source.name), peers.sha256)
    return Run(seconds, watch.cpu_seconds, watch.peak_rss, cpu)


def _tus_js(peers: Peers, endpoint: str, log: Path, token: str | None = None) -> ClientRun:
    env = {"PEERS_NODE": str(peers.node), **({"TUS_TOKEN": token} if token else {})}
    return run_client(["node", str(TUS_UPLOAD), endpoint, str(peers.source)], env, log)


def lfp_tus_run(peers: Peers, folder: Path) -> Run:
    """tus-js-client to lfp's tus endpoint, timed until lfp has verified the file."""
    with lfp_server(folder) as (process, client):
        with ServerWatch(process) as watch:
            started = time.perf_counter()
            endpoint = f"{client.base_url}/api/v1/tus/"
            run = _tus_js(peers, endpoint, folder / "tus.log", client.token)
            file_id = json.loads(run.stdout)["fileId"]
            deadline = time.monotonic() + READY_TIMEOUT
            while (file := client.get_file(file_id))["state"] not in ("ready", "failed"):
                if time.monotonic() > deadline:
                    raise SystemExit(f"lfp file {file_id} stayed {file['state']}")
                time.sleep(0.02)
            seconds = time.perf_counter() - started
        if file["state"] != "ready":
            raise SystemExit(f"lfp tus upload failed: {file.get('error')}")
        _check("lfp tus", file["sha256"], peers.sha256)
    return Run(seconds, watch.cpu_seconds, watch.peak_rss, run.cpu_seconds)


def tus_peer_run(peers: Peers, folder: Path) -> Run:
    """The same tus-js-client script to a bare @tus/server, timed to the client's exit."""
    with tus_peer_server(peers.node, folder) as (process, endpoint, store):
        with ServerWatch(process) as watch:
            run = _tus_js(peers, endpoint, folder / "tus.log")
        upload_id = json.loads(run.stdout)["url"].rstrip("/").rsplit("/", 1)[-1]
        _check("@tus/server", sha256_of(store / upload_id), peers.sha256)
    return Run(run.seconds, watch.cpu_seconds, watch.peak_rss, run.cpu_seconds)


PHASES: dict[str, Callable[[Peers, Path], Run]] = {
    "lfp upload --parallel 4 (ready)": lfp_cli_run,
    "copyparty + u2c -j 4 (done)": copyparty_run,
    "lfp tus, tus-js-client (ready)": lfp_tus_run,
    "@tus/server, tus-js-client (done)": tus_peer_run,
}


def large_runs(peers: Peers, work: Path, rounds: int) -> dict[str, list[Run]]:
    """Every phase `rounds` times, interleaved, each after an os.sync()."""
    runs: dict[str, list[Run]] = {name: [] for name in PHASES}
    for round_ in range(rounds):
        for index, (name, phase) in enumerate(PHASES.items()):
            # No phase pays for the writeback of the one before.
            os.sync()
            print(f"round {round_ + 1}/{rounds}: {name} ...", flush=True)
            runs[name].append(phase(peers, work / f"run-{round_}-{index}"))
    return runs


def small_runs(bin_dir: Path, work: Path, rounds: int) -> tuple[list[float], list[float]]:
    """1 MiB files (a new one each round), lfp's CLI and u2c interleaved; wall seconds."""
    lfp_seconds, u2c_seconds = [], []
    with (
        lfp_server(work / "small-lfp") as (_lfp, client),
        copyparty_server(bin_dir, work / "small-cpp") as (_cpp, url, volume),
    ):
        for round_ in range(rounds):
            source = work / f"small-{round_}.bin"
            random_file(source, MiB)
            digest = sha256_of(source)
            os.sync()
            run, file = _lfp_cli(client, source, work / "small-lfp")
            _check("lfp", file["sha256"], digest)
            lfp_seconds.append(run.seconds)
            os.sync()
            seconds, _cpu = _u2c(bin_dir, url, volume, source, work / f"u2c-{round_}.log")
            _check("copyparty", sha256_of(volume / source.name), digest)
            u2c_seconds.append(seconds)
    return lfp_seconds, u2c_seconds


def _verdict(value: float, target: float, *, strict: bool = False) -> str:
    met = value < target if strict else value <= target
    return f"(target {'<' if strict else '<='} {target:g}: {'met' if met else 'NOT met'})"


def print_large(runs: dict[str, list[Run]], size: int) -> None:
    """The table of medians over the rounds, then the issue's ratios against their targets."""
    gib = size / GiB
    print(f"\nfile: {size / MiB:.0f} MiB, {len(next(iter(runs.values())))} rounds interleaved,")
    print("medians over the rounds (peak RSS: the highest)")
    head = f"{'':36}{'seconds':>9}{'MB/s':>7}{'srv CPU s/GiB':>15}{'srv RSS MiB':>13}"
    print(f"{head}{'cli CPU s/GiB':>15}  rounds (s)")
    med: dict[str, Run] = {}
    for name, rs in runs.items():
        med[name] = m = Run(
            statistics.median(r.seconds for r in rs),
            statistics.median(r.server_cpu for r in rs) / gib,
            max(r.peak_rss for r in rs),
            statistics.median(r.client_cpu for r in rs) / gib,
        )
        each = " ".join(f"{r.seconds:.2f}" for r in rs)
        print(
            f"{name:36}{m.seconds:9.2f}{size / 1e6 / m.seconds:7.0f}{m.server_cpu:15.2f}"
            f"{m.peak_rss / MiB:13.0f}{m.client_cpu:15.2f}  {each}"
        )
    lfp, cpp, lfp_tus, tus = (med[name] for name in PHASES)
    lfp_rss = max(lfp.peak_rss, lfp_tus.peak_rss) / MiB
    print("ratios")
    for label, value, target in (
        ("lfp ready / copyparty done", lfp.seconds / cpp.seconds, 1.0),
        ("lfp-tus ready / @tus/server done", lfp_tus.seconds / tus.seconds, 1.0),
        ("lfp server CPU per GiB / copyparty's", lfp.server_cpu / cpp.server_cpu, 1.0),
        ("lfp client CPU per GiB / u2c's", lfp.client_cpu / cpp.client_cpu, 1.0),
    ):
        print(f"  {label:40}{value:7.2f}  {_verdict(value, target)}")
    print(
        f"  {'lfp server peak RSS (MiB)':40}{lfp_rss:7.0f}  {_verdict(lfp_rss, 100, strict=True)}"
    )


def print_small(lfp_seconds: list[float], u2c_seconds: list[float]) -> None:
    """The 1 MiB case: medians of lfp's CLI and of u2c, and their ratio against 1.5."""
    lfp, u2c = statistics.median(lfp_seconds), statistics.median(u2c_seconds)
    print(f"\n1 MiB file, {len(lfp_seconds)} rounds interleaved, medians of wall time")
    print(f"  lfp upload --parallel 4 (ready)         {lfp:7.2f} s")
    print(f"  u2c -j 4 (done)                         {u2c:7.2f} s")
    print(f"  {'lfp / u2c':40}{lfp / u2c:7.2f}  {_verdict(lfp / u2c, 1.5)}")


def main() -> None:
    """Install (or reuse) the peers, run the phases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="0: no large file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="also the 1 MiB case")
    parser.add_argument("--small-rounds", type=int, default=5)
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    args = parser.parse_args()
    bin_dir, node = copyparty_bin(), node_folder()
    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        if args.size_mib:
            size = args.size_mib * MiB
            source = args.keep_file or work / "input.bin"
            if not source.exists() or source.stat().st_size != size:
                print(f"writing a {args.size_mib} MiB random input file ...", flush=True)
                random_file(source, size)
            peers = Peers(bin_dir, node, source, sha256_of(source))
            print_large(large_runs(peers, work, args.rounds), size)
        if args.small:
            print_small(*small_runs(bin_dir, work, args.small_rounds))


if __name__ == "__main__":
    main()
