"""Uploads to S3 beside uploads to the local store, measured in the same run.

Starts moto's S3 server on loopback, then uploads one file (default 512 MiB) with lfp's
own client (8 MiB chunks, 4 in parallel) to a fresh `lfp serve` on the local store and to
one on S3 (moto), and prints seconds to "stored" and to `ready`, the server's peak RSS and
the ratio S3 / local. moto keeps objects in its own memory, so the S3 figure includes
moto's cost and is an upper bound for a real S3 endpoint's share of the server's time.

Usage: .venv/bin/python benchmarks/s3_upload.py [--size-mib 512] [--keep-file PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.s3

from tests.s3 import CREDENTIALS, MotoServer

from peer_measure import random_file
from upload import CHUNK, PARALLEL, MiB, _lfp_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--keep-file", type=Path, help="reuse (or create and keep) this input")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    with tempfile.TemporaryDirectory(prefix="lfp-bench-", dir=Path.cwd()) as tmp:
        work = Path(tmp)
        source = args.keep_file or work / "input.bin"
        size = args.size_mib * MiB
        if not source.exists() or source.stat().st_size != size:
            random_file(source, size)
        moto = MotoServer(work / "moto.log")
        moto.start()
        try:
            s3_env = {
                **CREDENTIALS,
                "LFP_STORAGE_URL": f"s3://{moto.new_bucket()}/bench",
                "LFP_S3_ENDPOINT_URL": moto.url,
            }
            os.sync()
            local = _lfp_seconds(source, work / "local", chunk_digests=True)
            os.sync()
            s3 = _lfp_seconds(source, work / "s3", chunk_digests=True, env=s3_env)
        finally:
            moto.stop()
    mb = size / 1e6
    print(f"\nfile: {size / MiB:.0f} MiB, chunks of {CHUNK // MiB} MiB, {PARALLEL} in parallel")
    for label, (stored, ready, peak) in (("local store", local), ("S3 (moto)", s3)):
        print(label)
        print(f"  all chunks stored   {stored:7.2f} s  {mb / stored:6.0f} MB/s")
        print(f"  verified and ready  {ready:7.2f} s  {mb / ready:6.0f} MB/s")
        print(f"  server peak RSS     {peak / MiB:7.0f} MiB")
    print(f"S3 / local, to stored {s3[0] / local[0]:7.2f}x")
    print(f"S3 / local, to ready  {s3[1] / local[1]:7.2f}x")


if __name__ == "__main__":
    main()
