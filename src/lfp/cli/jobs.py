"""The job commands: `processors`, `jobs`, `job`, `cancel` and `results`; following a job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lfp.cli.common import _config, _errors, _fail, _signed_in, out
from lfp.cli.render import (
    _human,
    _job_progress,
    _print_job,
    _print_jobs,
    _print_processors,
    _progress,
)
from lfp.client import LfpClient
from lfp.client.params import ParamError, parse_params

JobId = Annotated[str, typer.Argument(help="The job's id")]


def processors(ctx: typer.Context) -> None:
    """List the processors the server offers and their params."""
    with _errors():
        found = _signed_in(_config(ctx)).processors()
    _print_processors(found)


def list_jobs(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state, e.g. running or failed")
    ] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """List your jobs, newest first."""
    with _errors():
        result = _signed_in(_config(ctx)).list_jobs(page, per_page, state)
    _print_jobs(result)


def job(
    ctx: typer.Context,
    job_id: JobId,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON")] = False,
) -> None:
    """Show a job: state, progress, timings, result, error and outputs."""
    with _errors():
        found = _signed_in(_config(ctx)).get_job(job_id)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    _print_job(found)


def cancel(ctx: typer.Context, job_id: JobId) -> None:
    """Cancel a job: a queued one at once, a running one at its next check."""
    with _errors():
        found = _signed_in(_config(ctx)).cancel_job(job_id)
    if found["state"] == "cancelled":
        out.print(f"job {job_id} cancelled")
    else:
        out.print(f"job {job_id} asked to stop; it is still {found['state']}")


def results(
    ctx: typer.Context,
    job_id: JobId,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Folder for the outputs")
    ] = Path("."),
) -> None:
    """Download a job's outputs into a folder and print its result."""
    client = _signed_in(_config(ctx))
    with _errors():
        found = client.get_job(job_id)
        if found["state"] != "succeeded":
            reason = f": {found['error']}" if found.get("error") else ""
            _fail(f"job {job_id} is {found['state']}{reason}; it has no results")
        total = sum(o["size"] for o in found["outputs"])
        with _progress() as bar:
            task = bar.add_task("outputs", total=total)
            paths = client.download_outputs(
                job_id, output_dir, progress=lambda n: bar.advance(task, n)
            )
    for path in paths:
        out.print(f"{path}  {_human(path.stat().st_size)}")
    typer.echo(json.dumps(found["result"], indent=2))


def _job_params(client: LfpClient, processor: str, pairs: list[str]) -> dict[str, Any]:
    """`--param` pairs read against the processor's schema (so lists and numbers work)."""
    with _errors():
        schemas = {p["name"]: p["params_schema"] for p in client.processors()}
    if processor not in schemas:
        _fail(f"unknown processor {processor!r}; the server has: {', '.join(sorted(schemas))}")
    try:
        return parse_params(pairs, schemas[processor])
    except ParamError as exc:
        _fail(str(exc))


def _follow_job(client: LfpClient, job_id: str) -> bool:
    """Show the job's progress until it ends, then its outcome; whether it succeeded."""
    bar = _job_progress()
    with _errors(), bar:
        task = bar.add_task(f"job {job_id[:8]}", total=1.0, state="queued")
        found = client.wait_job(
            job_id,
            on_update=lambda j: bar.update(task, completed=j["progress"], state=j["state"]),
        )
    _print_job(found)
    return bool(found["state"] == "succeeded")
