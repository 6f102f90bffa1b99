"""The file commands: `upload` (optionally running a processor), `download` and `files`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from lfp.cli.common import _config, _errors, _fail, _signed_in, out
from lfp.cli.jobs import _follow_job, _job_params
from lfp.cli.render import _human, _print_files, _progress
from lfp.client import LfpClient
from lfp.client.state import ResumeState


def upload(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to upload", exists=False)],
    chunk_size: Annotated[
        str | None, typer.Option(help="Chunk size, e.g. 8MiB or 16M [default: the server's]")
    ] = None,
    parallel: Annotated[int, typer.Option(min=1, max=64, help="Chunks in flight at once")] = 4,
    chunk_digests: Annotated[
        bool,
        typer.Option(help="Send each chunk's sha-256 so the server checks it on arrival"),
    ] = True,
    process: Annotated[
        str | None, typer.Option(help="Processor to run on each file (see `lfp processors`)")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A processor param as key=value (JSON or text); repeatable"),
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the job and show its progress (--no-wait: print its id)")
    ] = True,
) -> None:
    """Upload files in parallel verified chunks; run it again after an interruption to resume.

    With --process, the processor runs on each file once it is verified.
    """
    config = _config(ctx)
    size = parse_size(chunk_size) if chunk_size else None
    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
    if param and not process:
        _fail("--param needs --process")
    client = _signed_in(config)
    params = _job_params(client, process, param or []) if process else None
    options: dict[str, Any] = {
        "chunk_size": size,
        "parallel": parallel,
        "chunk_digests": chunk_digests,
        "resume": ResumeState(config.config_dir),
        "processor": process,
        "params": params,
    }
    failed = False
    for path in files:
        job_id = _upload_one(client, path, options)
        if not job_id:
            continue
        if wait:
            failed |= not _follow_job(client, job_id)
        else:
            out.print(f"job {job_id} queued: follow it with `lfp job {job_id}`")
    if failed:
        raise typer.Exit(1)


def _upload_one(client: LfpClient, path: Path, options: dict[str, Any]) -> str | None:
    """Upload `path` with a progress bar and print the verified file; its job's id, if any."""
    with _errors(), _progress() as bar:
        task = bar.add_task(path.name, total=path.stat().st_size)
        file = client.upload_file(path, progress=lambda n: bar.advance(task, n), **options)
    if file["state"] != "ready":
        _fail(f"{path}: the server could not verify the upload: {file.get('error')}")
    out.print(f"{file['id']}  {path.name}  {_human(file['size'])}  sha256 {file['sha256']}")
    job_id: str | None = file.get("job_id")
    return job_id


def download(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(help="The file's id")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write")] = None,
) -> None:
    """Download a file, resuming a partial copy, and check its sha256."""
    client = _signed_in(_config(ctx))
    with _errors():
        meta = client.get_file(file_id)
        with _progress() as bar:
            task = bar.add_task(meta["filename"], total=meta["size"])
            path = client.download(file_id, output, progress=lambda n: bar.advance(task, n))
    out.print(f"{path}  {_human(meta['size'])}  sha256 {meta['sha256']}")


def list_files(
    ctx: typer.Context,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """List your files, newest first."""
    with _errors():
        result = _signed_in(_config(ctx)).list_files(page, per_page)
    _print_files(result)


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3}
_UNITS |= {"gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str) -> int:
    """Bytes in a size such as `8388608`, `8MiB`, `16M` or `1.5GiB` (M and MB are 10^6)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise typer.BadParameter(f"cannot read {text!r} as a size (try 8MiB)")
    return int(float(match.group(1)) * _UNITS[unit])
