"""Processor speed and memory, against plain-Python and hashlib baselines in the same run.

Generates a song-plays CSV (default 1 GiB: about 25 million rows `Song,Date,Number of
Plays`, 50,000 songs, 3 in 40 of whose names need RFC 4180 quoting, uniform over two years
of dates), then prints, each measured thing running alone in its own process (so its peak RSS
is its own):

- lfp's `song-plays` processor (the real class, on a `RunningJob` with the configured
  DuckDB memory limit and threads) beside a plain-Python reference (`csv` module, a dict
  keyed by (song, date), `sorted`, `csv.writer`), and whether the two outputs agree. The
  issue's targets: lfp at least 8x faster, and lfp's peak RSS under 1 GiB;
- lfp's `hash` processor asked for md5+sha1+sha256+blake2b together beside hashlib running
  each of them alone over the same file (4 MiB reads); sha512 and blake3 alone for
  information. The issue's target: the combined pass takes at most 1.15x the slowest
  algorithm alone.

Times are of the work inside each process (interpreter start and imports excluded); the
page cache holds the file for every run (it is read once before any timing).

Usage: .venv/bin/python benchmarks/processors.py [--size-mib 1024] [--keep-file PATH]
       [--only song-plays|hash] [--repeat 2]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lfp.processors.context import RunningJob

MiB = 1024 * 1024
GiB = 1024 * MiB
READ_BLOCK = 4 * MiB
SONGS = 50_000
DAYS = 731  # 2023-01-01 .. 2024-12-31
FIRST_DAY = "2023-01-01"
MAX_PLAYS = 50
HEADER = ("Song", "Date", "Number of Plays")
OUTPUT_HEADER = ("Song", "Date", "Total Number of Plays for Date")  # as song-plays writes it
COMBINED = ("md5", "sha1", "sha256", "blake2b")
ALONE = (*COMBINED, "sha512", "blake3")

SPEEDUP_TARGET = 8.0
RSS_TARGET = GiB
HASH_TARGET = 1.15


@dataclass(frozen=True)
class Measured:
    """One measured child process: wall and CPU seconds of work, peak RSS, what it returned."""

    seconds: float
    cpu: float
    max_rss: int
    result: Any


def main() -> None:
    """Parse the command line; run one measured child (`--run`) or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the generated CSV")
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    parser.add_argument("--only", choices=["song-plays", "hash"], help="run one part only")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each hash measurement; the best counts"
    )
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _child(args.run)
        return

    # On SIGTERM, unwind as on Ctrl-C: the running child is killed and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        source = args.keep_file or work / "plays.csv"
        size = args.size_mib * MiB
        # A kept file is reused when it is within 1 % of the size asked for.
        if not source.exists() or abs(source.stat().st_size - size) > size / 100:
            print(f"writing a {args.size_mib} MiB song-plays CSV ...", flush=True)
            started = time.perf_counter()
            rows = generate_song_plays(source, size)
            print(f"  {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        else:
            rows = _count_rows(source)
        _warm(source)
        load = _load()
        real_size = source.stat().st_size
        print()
        print(
            f"input: {real_size / MiB:.0f} MiB, {rows:,} rows, {SONGS:,} songs, {DAYS} days "
            f"from {FIRST_DAY}; {os.cpu_count()} cores; page cache warm (file read once "
            "before timing); times exclude interpreter start and imports",
            flush=True,
        )
        if args.only in (None, "song-plays"):
            _song_plays_part(source, work)
        if args.only in (None, "hash"):
            _hash_part(source, work, max(1, args.repeat))
        print(f"\nload average (1, 5, 15 min) at the start {load}, at the end {_load()}")
        print("(other work on the machine slows wall times; CPU times show it less)")


def generate_song_plays(path: Path, size: int) -> int:
    """Write a song-plays CSV of about `size` bytes with DuckDB; the number of rows written.

    Deterministic: row i's song, date and plays are hashes of i.
    """
    import duckdb  # here, so the measured children do not carry it unless they use it

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    # Song names of about 28 bytes: "<Adjective> <Noun> of <Noun> <n>"; 3 in 40 have a
    # comma, double quotes or both (so a CSV writer must quote them), one of them non-ASCII.
    con.execute(
        """
        CREATE TABLE songs AS
        SELECT i AS id,
            CASE i % 40
                WHEN 0 THEN 'Song, with comma ' || i
                WHEN 1 THEN 'The "Quoted" Song ' || i
                WHEN 2 THEN 'Café, "both" and ünïcode ' || i
                ELSE adj[1 + i % 17] || ' ' || noun[1 + (i // 17) % 13] || ' of '
                    || noun[1 + (i // 221) % 13] || ' ' || i
            END AS name
        FROM range(?) t(i),
            (SELECT ['Blue', 'Silent', 'Electric', 'Golden', 'Broken', 'Wild', 'Lonely',
                     'Midnight', 'Burning', 'Hollow', 'Velvet', 'Neon', 'Crimson',
                     'Distant', 'Frozen', 'Little', 'Endless'] AS adj,
                    ['Heart', 'River', 'Dream', 'Highway', 'Summer', 'Rain', 'Fire',
                     'Night', 'Ocean', 'Shadow', 'City', 'Light', 'Moon'] AS noun)
        """,
        [SONGS],
    )
    # Bytes a row takes on average: the (maybe quoted) name, date, plays, separators.
    quoted = """strlen(name) + CASE WHEN name LIKE '%,%' OR name LIKE '%"%'
        THEN 2 + strlen(name) - strlen(replace(name, '"', '')) ELSE 0 END"""
    (name_bytes,) = con.execute(f"SELECT avg({quoted}) FROM songs").fetchone() or (0,)
    plays_bytes = sum(len(str(p)) for p in range(1, MAX_PLAYS + 1)) / MAX_PLAYS
    header_bytes = len(",".join(HEADER)) + 1
    rows = max(1, round((size - header_bytes) / (float(name_bytes) + 10 + plays_bytes + 3)))
    target = str(path).replace("'", "''")
    con.execute(
        f"""
        COPY (
            SELECT s.name AS "Song", p.day AS "Date", p.plays AS "Number of Plays"
            FROM (
                SELECT i,
                    hash(i) % {SONGS} AS song,
                    DATE '{FIRST_DAY}' + CAST(hash(i + 1000000000000) % {DAYS} AS INTEGER)
                        AS day,
                    CAST(1 + hash(i + 2000000000000) % {MAX_PLAYS} AS INTEGER) AS plays
                FROM range(?) t(i)
            ) p JOIN songs s ON s.id = p.song
        ) TO '{target}' (FORMAT csv, HEADER, DELIMITER ',', QUOTE '"', DATEFORMAT '%Y-%m-%d')
        """,
        [rows],
    )
    con.close()
    return rows


def reference_song_plays(source: Path, target: Path) -> dict[str, Any]:
    """The plain-Python reference: total plays per (song, date), sorted, written to `target`.

    Returns the number of distinct (song, date) pairs and the output's path.
    """
    totals: defaultdict[tuple[str, str], int] = defaultdict(int)
    with open(source, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)  # the header
        for song, date, plays in reader:
            totals[(song, date)] += int(plays)
    with open(target, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(OUTPUT_HEADER)
        # Sorting the keys alone is twice as fast as sorting the (key, total) items.
        writer.writerows((song, date, totals[song, date]) for song, date in sorted(totals))
    return {"groups": len(totals), "output": str(target)}


def hashlib_alone(source: Path, algorithm: str) -> str:
    """The hex digest of the file with one algorithm, in a plain loop of 4 MiB reads."""
    if algorithm == "blake3":
        import blake3

        hasher: Any = blake3.blake3()
    else:
        hasher = hashlib.new(algorithm)
    with open(source, "rb") as f:
        while block := f.read(READ_BLOCK):
            hasher.update(block)
    return str(hasher.hexdigest())


def _child(argv: list[str]) -> None:
    """Run one measured thing; print {seconds, cpu, max_rss, result} as JSON on stdout."""
    kind, *rest = argv
    work: Callable[[], Any]
    if kind == "hashlib":
        algorithm, source = rest
        work = partial(hashlib_alone, Path(source), algorithm)
    elif kind == "python-song-plays":
        source, target = rest
        work = partial(reference_song_plays, Path(source), Path(target))
    elif kind == "lfp-hash":
        from lfp.processors.hash import HashParams, HashProcessor

        source, scratch = rest
        params = HashParams(algorithms=list(COMBINED))
        work = partial(HashProcessor().run, _context(Path(source), Path(scratch)), params)
    elif kind == "lfp-song-plays":
        from lfp.processors.song_plays import SongPlaysProcessor

        source, scratch = rest
        ctx = _context(Path(source), Path(scratch))

        def work() -> dict[str, Any]:
            result = SongPlaysProcessor().run(ctx, SongPlaysProcessor.Params())
            return {**result, "output": str(ctx.outputs[0].path)}
    else:
        raise SystemExit(f"unknown --run kind {kind!r}")
    started, cpu_started = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    report = {"seconds": seconds, "cpu": cpu, "max_rss": _peak_rss(), "result": result}
    print(json.dumps(report, default=str))


def _context(source: Path, scratch: Path) -> RunningJob:
    """A `RunningJob` on a local file, with the configured DuckDB memory limit and threads."""
    from lfp.config import Settings
    from lfp.processors.context import JobInput, RunningJob

    settings = Settings()
    scratch.mkdir(parents=True, exist_ok=True)
    return RunningJob(
        input=JobInput.local(source),
        filename=source.name,
        scratch_dir=scratch,
        memory_limit=settings.processor_memory_limit,
        threads=settings.processor_threads,
    )


def _peak_rss() -> int:
    """This process's peak RSS in bytes.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across
    fork and exec, so a small child of a large parent would report the parent's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _measure(*argv: str) -> Measured:
    """Run `--run argv...` in a fresh interpreter; its own timing, peak RSS and result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--run", *argv]
    completed = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Measured(
        float(report["seconds"]), float(report["cpu"]), int(report["max_rss"]), report["result"]
    )


def _song_plays_part(source: Path, work: Path) -> None:
    from lfp.config import Settings

    settings = Settings()
    print(
        f"\nsong-plays: sorted output; lfp with DuckDB threads={settings.processor_threads}, "
        f"memory_limit={settings.processor_memory_limit}; each run once",
        flush=True,
    )
    print("  running the plain-Python reference ...", flush=True)
    reference = _measure("python-song-plays", str(source), str(work / "reference.csv"))
    print("  running lfp song-plays ...", flush=True)
    lfp = _measure("lfp-song-plays", str(source), str(work / "song-plays-scratch"))
    agreement = _compare_outputs(Path(reference.result["output"]), Path(lfp.result["output"]))

    speedup = reference.seconds / lfp.seconds
    print()
    print(f"{'song-plays':40} {_HEAD}")
    print(f"{'python csv + dict reference':40} {_row(reference)}")
    print(f"{'lfp song-plays processor':40} {_row(lfp)}")
    print(
        f"{'speedup (reference / lfp), wall time':40} {speedup:8.1f}x{'':23}"
        f"target >= {SPEEDUP_TARGET:.0f}x      {_verdict(speedup >= SPEEDUP_TARGET)}"
    )
    print(
        f"{'lfp peak RSS':40} {'':21}{_mib(lfp.max_rss)}  target < {RSS_TARGET // MiB} MiB  "
        f"{_verdict(lfp.max_rss < RSS_TARGET)}"
    )
    print(f"{'CPU time ratio (reference / lfp)':40} {reference.cpu / lfp.cpu:8.1f}x")
    print(f"{'distinct (song, date) pairs':40} {reference.result['groups']:>9,}")
    shown = {k: v for k, v in lfp.result.items() if k != "output"}
    print(f"{'lfp result':40} {json.dumps(shown)[:200]}")
    print(f"{'outputs agree':40} {agreement}")


def _compare_outputs(reference: Path, lfp: Path) -> str:
    """Whether two CSV outputs agree: identical bytes, or the same parsed rows."""
    if _sha256(reference) == _sha256(lfp):
        return "yes: identical bytes"
    with open(reference, newline="", encoding="utf-8") as a, open(lfp, newline="") as b:
        ref_rows, lfp_rows = csv.reader(a), csv.reader(b)
        ref_header, lfp_header = next(ref_rows, None), next(lfp_rows, None)
        for number, (x, y) in enumerate(itertools.zip_longest(ref_rows, lfp_rows), start=2):
            if x != y:
                return f"NO (MISMATCH): row {number}: reference {x!r}, lfp {y!r}"
    header_note = (
        "same header" if ref_header == lfp_header else f"header {lfp_header} vs {ref_header}"
    )
    return f"yes: same rows ({header_note}; bytes differ in quoting or line endings)"


def _hash_part(source: Path, work: Path, repeat: int) -> None:
    print(f"\nhash: best of {repeat} runs each, 4 MiB reads, runs interleaved", flush=True)
    best: dict[str, Measured] = {}
    label = "lfp " + "+".join(COMBINED)
    for _ in range(repeat):
        for algorithm in ALONE:
            _keep_best(best, algorithm, _measure("hashlib", algorithm, str(source)))
        scratch = work / "hash-scratch"
        _keep_best(best, label, _measure("lfp-hash", str(source), str(scratch)))
        for output in (scratch / "outputs").glob("*"):
            output.unlink()

    size = source.stat().st_size
    print()
    print(f"{'hash':40} {_HEAD} {'MB/s':>7}")
    for name, measured in best.items():
        what = f"hashlib {name} alone" if name in ALONE else name
        if name in ALONE and name not in COMBINED:
            what += " (for information)"
        print(f"{what:40} {_row(measured)} {size / 1e6 / measured.seconds:7.0f}")
    slowest = max(COMBINED, key=lambda name: best[name].seconds)
    ratio = best[label].seconds / best[slowest].seconds
    print(
        f"{'lfp combined / slowest alone (' + slowest + ')':40} {ratio:8.2f}x{'':23}"
        f"target <= {HASH_TARGET}x  {_verdict(ratio <= HASH_TARGET)}"
    )
    total = sum(best[name].seconds for name in COMBINED)
    print(f"{'sum of the four alone (one after another)':40} {_s(total)}")
    # Four algorithms on fewer than four cores cannot beat their CPU work spread evenly.
    cores = os.cpu_count() or 1
    floor = max(best[slowest].seconds, best[label].cpu / cores)
    print(
        f"{f'floor on {cores} cores: lfp CPU / {cores}':40} {_s(floor)}  = "
        f"{floor / best[slowest].seconds:.2f}x slowest alone (perfect use of every core)"
    )
    digests = best[label].result["digests"]
    wrong = [name for name in COMBINED if digests.get(name) != best[name].result]
    agree = "yes" if not wrong else f"NO (MISMATCH): {', '.join(wrong)}"
    print(f"{'lfp digests equal hashlib':40} {agree}")


def _keep_best(best: dict[str, Measured], name: str, measured: Measured) -> None:
    if name not in best or measured.seconds < best[name].seconds:
        best[name] = measured


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _warm(path: Path) -> None:
    """Read the file once so every run finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


def _count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(16 * MiB), b"")) - 1


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


_HEAD = f"{'wall':>9} {'CPU':>9} {'peak RSS':>10}"


def _row(measured: Measured) -> str:
    return f"{_s(measured.seconds)} {_s(measured.cpu)} {_mib(measured.max_rss)}"


def _s(seconds: float) -> str:
    return f"{seconds:7.2f} s"


def _mib(size: int) -> str:
    return f"{size / MiB:6.0f} MiB"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


if __name__ == "__main__":
    main()
