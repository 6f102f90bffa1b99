"""Database transactions per chunk and per job, counted by PostgreSQL itself.

Starts `lfp serve` on a fresh PostgreSQL database, uploads a file of `--chunks` chunks of
8 MiB with lfp's own client, then runs a `hash` job on it, and prints the committed
transactions (`pg_stat_database.xact_commit`, which counts reads too) for the upload
(per chunk) and for the job. The figures feed the capacity arithmetic in docs/scaling.md.

Usage: .venv/bin/python benchmarks/transactions.py [--chunks 32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from lfp.client import LfpClient
from servers import free_port, wait_healthy

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MiB = 1 << 20
CHUNK = 8 * MiB


def commits(name: str) -> int:
    """Transactions committed in database `name` so far.

    Backends report their counts when idle, at most every 10 s: wait that long first.
    """
    time.sleep(11)
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=32)
    args = parser.parse_args()
    name = f"lfp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="lfp-bench-") as tmp:
            source = Path(tmp) / "input.bin"
            source.write_bytes(os.urandom(args.chunks * CHUNK))
            port = free_port()
            env = {
                **os.environ,
                "LFP_DATA_DIR": tmp,
                "LFP_MIN_FREE_BYTES": "0",
                "LFP_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            }
            command = [sys.executable, "-m", "lfp.cli", "serve", "--port", str(port)]
            server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
            try:
                wait_healthy(f"http://127.0.0.1:{port}/healthz", server)
                client = LfpClient(f"http://127.0.0.1:{port}")
                client.signup("bench@example.com", "bench password 1")
                client.login("bench@example.com", "bench password 1")
                before = commits(name)
                file = client.upload_file(source, chunk_size=CHUNK, parallel=4)
                uploaded = commits(name) - before
                before = commits(name)
                job = client.submit_job(file["id"], "hash")
                client.wait_job(job["id"], poll_interval=0.5)
                jobbed = commits(name) - before
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"upload of {args.chunks} chunks: {uploaded} transactions")
    print(f"  per chunk                     {uploaded / args.chunks:.1f}")
    print(f"hash job (submit, run, polled): {jobbed} transactions")


if __name__ == "__main__":
    main()
