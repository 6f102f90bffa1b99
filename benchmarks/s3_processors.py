"""Processors reading their input from S3 beside the same processors on a local file.

Generates a song-plays CSV (default 256 MiB, as `processors.py` makes it), puts it in a
bucket on moto's S3 server (started on loopback), and runs `hash` (sha256), `song-plays`
and `csv-aggregate` (plays summed per song) in this process, once on the local file and
once on the stored object read through the store (one streamed GET per pass, DuckDB
reading through fsspec), with the same DuckDB limits. Prints each run's seconds, the
ratio S3 / local, whether the outputs agree, and the bytes the S3 runs left in scratch
space besides their outputs (a copy of the input would be there: it should be 0). moto
serves objects from its own memory over loopback, so the S3 figure includes moto's cost.

Usage: .venv/bin/python benchmarks/s3_processors.py [--size-mib 256] [--keep-file PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.s3

from tests.s3 import CREDENTIALS, MotoServer

from lfp.config import Settings
from lfp.processors.base import NoParams, Processor
from lfp.processors.context import JobInput, RunningJob
from lfp.processors.csv_aggregate import CsvAggregateParams, CsvAggregateProcessor
from lfp.processors.hash import HashParams, HashProcessor
from lfp.processors.song_plays import SongPlaysProcessor
from lfp.storage.s3 import S3BlobStore
from processors import MiB, generate_song_plays

RUNS: list[tuple[str, Processor, Any]] = [
    ("hash sha256", HashProcessor(), HashParams(algorithms=["sha256"])),
    ("song-plays", SongPlaysProcessor(), NoParams()),
    (
        "csv-aggregate",
        CsvAggregateProcessor(),
        CsvAggregateParams.model_validate(
            {"group_by": ["Song"], "aggregates": [{"column": "Number of Plays", "function": "sum"}]}
        ),
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        source = args.keep_file or work / "plays.csv"
        if not source.exists() or source.stat().st_size < args.size_mib * MiB:
            generate_song_plays(source, args.size_mib * MiB)
        moto = MotoServer(work / "moto.log")
        moto.start()
        try:
            store = S3BlobStore(moto.new_bucket(), "bench", endpoint_url=moto.url)
            store.put_file("plays.csv", _copy(source, work / "upload.csv"))
            size = source.stat().st_size
            print(f"input: {size / MiB:.0f} MiB song-plays CSV")
            for label, processor, params in RUNS:
                local = _timed(processor, params, JobInput.local(source), work / "local")
                stored = JobInput.stored(store, "plays.csv", size)
                s3 = _timed(processor, params, stored, work / "s3")
                same = "same output" if local[1] == s3[1] else "OUTPUTS DIFFER"
                print(
                    f"{label:14} local {local[0]:6.2f} s   S3 {s3[0]:6.2f} s   "
                    f"S3/local {s3[0] / local[0]:5.2f}x   {same}   "
                    f"S3 scratch left besides outputs: {s3[2] / MiB:.0f} MiB"
                )
        finally:
            moto.stop()


def _timed(
    processor: Processor, params: Any, source: JobInput, scratch: Path
) -> tuple[float, str, int]:
    """Seconds to run, a digest of the outputs, and the bytes scratch holds besides them
    once the run is over (a copy of the input would be among them)."""
    settings = Settings()
    scratch.mkdir(parents=True, exist_ok=True)
    run = RunningJob(
        input=source,
        filename="plays.csv",
        scratch_dir=scratch,
        memory_limit=settings.processor_memory_limit,
        threads=settings.processor_threads,
    )
    started = time.perf_counter()
    processor.run(run, params)
    seconds = time.perf_counter() - started
    digest = hashlib.sha256()
    for output in run.outputs:
        digest.update(output.path.read_bytes())
    extra = _size(scratch, exclude=scratch / "outputs")
    for output in run.outputs:
        output.path.unlink()
    return seconds, digest.hexdigest(), extra


def _size(folder: Path, exclude: Path) -> int:
    return sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file() and exclude not in p.parents
    )


def _copy(source: Path, target: Path) -> Path:
    with open(source, "rb") as reading, open(target, "wb") as writing:
        while block := reading.read(8 * MiB):
            writing.write(block)
    return target


if __name__ == "__main__":
    main()
