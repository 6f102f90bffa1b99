"""The file commands: `upload` (optionally running a processor), `download` and `files`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from lfp.cli import ids
from lfp.cli.common import AsJson, _config, _errors, _fail, _signed_in, out, print_json
from lfp.cli.jobs import (
    ParamPairs,
    WaitForJob,
    _follow_job,
    _job_params,
    _say_queued,
    _wait_job,
)
from lfp.cli.render import _human, _print_files, _progress
from lfp.cli.transfer import TransferLine
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
    param: ParamPairs = None,
    wait: WaitForJob = True,
    as_json: AsJson = False,
) -> None:
    """Upload files in parallel verified chunks; run it again after an interruption to resume.

    Each file is hashed first: one this account already stores is not sent again. With
    --process, the processor runs on each file once it is verified. With --json: an array
    with each file (as `lfp files --json` shows it) and its `job_id`, plus the ended `job`
    when waiting for it.
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
    if not _upload_all(client, files, options, wait=wait, as_json=as_json):
        raise typer.Exit(1)


def _upload_all(
    client: LfpClient, files: list[Path], options: dict[str, Any], *, wait: bool, as_json: bool
) -> bool:
    """Upload each file and follow its job (or say it is queued); whether all jobs succeeded.

    With `as_json`, nothing but the JSON array reaches stdout.
    """
    uploaded: list[dict[str, Any]] = []
    succeeded = True
    for path in files:
        file = _upload_one(client, path, options, quiet=as_json)
        uploaded.append(file)
        job_id = file.get("job_id")
        if not job_id:
            continue
        if wait and as_json:
            file["job"] = _wait_job(client, job_id)
            succeeded &= file["job"]["state"] == "succeeded"
        elif wait:
            succeeded &= _follow_job(client, job_id)
        elif not as_json:
            _say_queued(job_id)
    if as_json:
        print_json(uploaded)
    return succeeded


def _upload_one(
    client: LfpClient, path: Path, options: dict[str, Any], *, quiet: bool = False
) -> dict[str, Any]:
    """Upload `path` showing each step on stderr (hashing, sending, retrying, verifying),
    and print the verified file's line unless `quiet`; the file, with its `job_id`."""
    with _errors(), _progress() as bar:
        line = TransferLine(bar, path.name, path.stat().st_size)
        client.on_retry = line.on_retry
        try:
            file = client.upload_file(
                path, progress=line.advance, on_hashed=line.advance, on_stage=line.stage, **options
            )
            line.finish()
        finally:
            client.on_retry = None
    if file["state"] != "ready":
        _fail(f"{path}: the server could not verify the upload: {file.get('error')}")
    if not quiet:
        out.print(f"{file['id']}  {path.name}  {_human(file['size'])}  sha256 {file['sha256']}")
    return file


def download(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(help="The file's id, or a unique start of it")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
) -> None:
    """Download a file, resuming a partial copy, and check its sha256.

    An existing file of that name is left alone unless --force (a `.part` copy left by an
    interrupted download is continued).
    """
    client = _signed_in(_config(ctx))
    with _errors():
        meta = ids.file(client, file_id)
        file_id = meta["id"]
        with _progress() as bar:
            line = TransferLine(bar, meta["filename"], meta["size"])
            client.on_retry = line.on_retry
            path = client.download(file_id, output, progress=line.advance, overwrite=force)
            line.finish()
    out.print(f"{path}  {_human(meta['size'])}  sha256 {meta['sha256']}")


def list_files(
    ctx: typer.Context,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: AsJson = False,
) -> None:
    """List your files, newest first."""
    with _errors():
        result = _signed_in(_config(ctx)).list_files(page, per_page)
    if as_json:
        print_json(result)
        return
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
