"""What benchmarks/peers.py measures of each run: a server's CPU seconds and peak RSS
(its whole process tree), a client process's wall and CPU seconds, and sha-256 digests."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil

MiB = 1024 * 1024
SAMPLE_SECONDS = 0.02


@dataclass
class ClientRun:
    """A client process that ran to its end."""

    seconds: float
    cpu_seconds: float  # user + system, its waited-for children included
    stdout: str


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return [process]


def tree_cpu_seconds(process: psutil.Process) -> float:
    """User + system seconds of `process` and every live descendant, plus those of the
    children they already reaped (psutil's children_* fields)."""
    total = 0.0
    for member in _tree(process):
        try:
            t = member.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and its live descendants together."""
    total = 0
    for member in _tree(process):
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class ServerWatch:
    """Within `with`: the server's CPU seconds spent, and its peak RSS sampled every 20 ms."""

    def __init__(self, process: psutil.Process) -> None:
        self._process = process
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self.peak_rss = 0
        self.cpu_seconds = 0.0

    def _sample(self) -> None:
        while True:
            self.peak_rss = max(self.peak_rss, tree_rss(self._process))
            if self._done.wait(SAMPLE_SECONDS):
                return

    def __enter__(self) -> ServerWatch:
        self._cpu_before = tree_cpu_seconds(self._process)
        self._sampler.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        self._sampler.join()
        self.cpu_seconds = tree_cpu_seconds(self._process) - self._cpu_before


def run_client(command: list[str], env: dict[str, str], log: Path) -> ClientRun:
    """Run a client to its end (stderr into `log`); exit if it fails.

    os.wait4 gives the rusage of exactly this child and the children it waited for (u2c's
    hashing processes), with no sampling that could miss its last moments.
    """
    started = time.perf_counter()
    with open(log, "wb") as errors:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=errors
        )
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{command[0]} exited {process.returncode}:\n{tail}")
    return ClientRun(seconds, usage.ru_utime + usage.ru_stime, stdout)


def sha256_of(path: Path) -> str:
    """The hex sha-256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> None:
    """Write `size` random bytes to `path`, every 16 MiB block different (the benchmarks'
    input files)."""
    block = os.urandom(16 * MiB)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            piece = block[: size - written]
            f.write(piece)
            written += len(piece)
            # Vary each block so no layer can deduplicate or compress it away.
            block = block[1:] + block[:1]
