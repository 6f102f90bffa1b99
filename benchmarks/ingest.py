"""Products ingest into PostgreSQL end to end, against a bare COPY of the same file.

Generates a products CSV (default 500,000 rows `name,sku,description`: about 10 % of the
rows repeat an earlier sku, in another letter case half of the time; 50,000 distinct names,
some needing RFC 4180 quoting; one description in ten spans two lines), creates a fresh
PostgreSQL database on 127.0.0.1:5432 (user postgres), starts a real `lfp serve` on it and
prints:

- end to end: from the start of the upload (lfp's client, parallel chunks) until the
  `products` job has succeeded: upload, verification, job, staging, upsert, aggregates;
- the same file loaded a second time (every product an update);
- a bare `COPY ... FROM STDIN (FORMAT csv)` of the same bytes into an unindexed table.

The issue's targets: end to end under 15 s, and under 3x the bare COPY.

Usage: .venv/bin/python benchmarks/ingest.py [--rows 500000] [--keep-file PATH]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from lfp.client import LfpClient
from servers import free_port, wait_healthy

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NAMES = 50_000
DUPLICATE_SHARE = 0.10
BLOCK = 1 << 20
TARGET_SECONDS = 15.0
TARGET_RATIO = 3.0
# How often the job is polled: often enough to time it, rarely enough not to slow the server.
POLL = 0.1


def main() -> None:
    """Generate the input, run the loads and the bare COPY, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        source = args.keep_file or work / "products.csv"
        if not source.exists():
            print(f"writing a {args.rows:,}-row products CSV ...", flush=True)
            distinct = generate_products(source, args.rows)
        else:
            distinct = _distinct_skus(source)
        size = source.stat().st_size
        print(f"input: {size / 2**20:.0f} MiB, {args.rows:,} rows, {distinct:,} distinct skus")
        with _database() as url:
            first, second = _lfp_loads(source, work / "data", url, distinct)
            copy = _bare_copy(source, url)
    print()
    print(f"  lfp end to end, first load   {first:7.2f} s")
    print(f"  lfp end to end, second load  {second:7.2f} s (every product an update)")
    print(f"  bare COPY, unindexed table   {copy:7.2f} s")
    ratio = first / copy
    print(
        f"  first load under {TARGET_SECONDS:.0f} s: "
        f"{'PASS' if first < TARGET_SECONDS else 'MISS'} ({first:.2f} s); "
        f"under {TARGET_RATIO:.0f}x the bare COPY: "
        f"{'PASS' if ratio < TARGET_RATIO else 'MISS'} ({ratio:.2f}x)"
    )


def generate_products(path: Path, rows: int) -> int:
    """Write the products CSV (BOM, CRLF); the number of distinct skus (case-insensitive)."""
    rng = random.Random(20261125)
    fresh = round(rows * (1 - DUPLICATE_SHARE))
    skus = [f"SKU-{n:08d}" for n in rng.sample(range(10 * rows), fresh)]
    order = skus + [rng.choice(skus) for _ in range(rows - fresh)]
    rng.shuffle(order)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(("name", "sku", "description"))
        for i, sku in enumerate(order):
            name = _name(rng.randrange(NAMES))
            description = f"Product {i}: " + " ".join(rng.choices(_WORDS, k=12))
            if i % 10 == 0:
                description += '\r\nSecond line, with a comma and "quotes".'
            writer.writerow((name, sku.lower() if rng.random() < 0.5 else sku, description))
    return fresh


_WORDS = [
    "solid",
    "light",
    "blue",
    "steel",
    "smart",
    "compact",
    "classic",
    "premium",
    "small",
    "large",
    "wooden",
    "fast",
]


def _name(n: int) -> str:
    if n % 20 == 0:
        return f'Widget, "model" {n}'
    return f"{_WORDS[n % 12].title()} {_WORDS[(n // 12) % 12]} item {n}"


def _distinct_skus(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return len({row["sku"].strip().lower() for row in csv.DictReader(f)})


@contextmanager
def _database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; dropped afterwards."""
    name = f"lfp_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lfp_loads(source: Path, data_dir: Path, url: str, distinct: int) -> tuple[float, float]:
    """Seconds of the first and of the second load through a real `lfp serve`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LFP_DATA_DIR": str(data_dir),
        "LFP_DATABASE_URL": url,
        "LFP_MIN_FREE_BYTES": "0",
    }
    command = [sys.executable, "-m", "lfp.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    try:
        wait_healthy(f"{base}/healthz", process)
        client = LfpClient(base)
        client.signup("bench@example.com", "bench password 1")
        client.login("bench@example.com", "bench password 1")
        seconds = []
        for label in ("first", "second"):
            elapsed, job = _load(client, source)
            result = job["result"]
            print(
                f"{label} load: {elapsed:.2f} s end to end (upload {job['upload_seconds']:.2f} s, "
                f"job {job['processing_seconds']:.2f} s); inserted {result['inserted']:,}, "
                f"updated {result['updated']:,}, duplicates {result['duplicates']:,}",
                flush=True,
            )
            seconds.append(elapsed)
        _check_tables(url, distinct)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return seconds[0], seconds[1]


def _load(client: LfpClient, source: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    file = client.upload_file(source, processor="products", poll_interval=POLL)
    while True:
        job = client.get_job(file["job_id"])
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(POLL)
    elapsed = time.perf_counter() - started
    if job["state"] != "succeeded":
        raise SystemExit(f"the products job {job['state']}: {job.get('error')}")
    return elapsed, job


def _check_tables(url: str, distinct: int) -> None:
    """The products table holds every distinct sku, and the aggregates add up to it."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        products = connection.execute("SELECT count(*) FROM products").fetchone()
        counted = connection.execute("SELECT sum(count) FROM product_aggregates").fetchone()
    if not products or not counted or products[0] != distinct or counted[0] != distinct:
        raise SystemExit(f"expected {distinct} products, found {products} and {counted}")


def _bare_copy(source: Path, url: str) -> float:
    """Seconds to COPY the file's bytes into an unindexed table (connection excluded)."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        connection.execute("CREATE TABLE bare_copy (name text, sku text, description text)")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY bare_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
            open(source, "rb") as f,
        ):
            while block := f.read(BLOCK):
                copy.write(block)
        connection.commit()
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
