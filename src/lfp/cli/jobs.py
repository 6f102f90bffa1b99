"""The job commands: `processors`, `jobs`, `job`, `cancel`, `results` and `process`
(a processor on a stored file); following a job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lfp.cli import ids
from lfp.cli.common import AsJson, _config, _errors, _fail, _signed_in, out, print_json
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

JobId = Annotated[str, typer.Argument(help="The job's id, or a unique start of it (4+ digits)")]
# The job options `upload --process` and `process` share.
ParamPairs = Annotated[
    list[str] | None,
    typer.Option(help="A processor param as key=value (JSON or text); repeatable"),
]
WaitForJob = Annotated[
    bool, typer.Option(help="Wait for the job and show its progress (--no-wait: print its id)")
]


def processors(
    ctx: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Each param's type, default and an example --param"),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List the processors the server offers and their params."""
    with _errors():
        found = _signed_in(_config(ctx)).processors()
    if as_json:
        print_json(found)
        return
    _print_processors(found, verbose=verbose)


def list_jobs(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state, e.g. running or failed")
    ] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: AsJson = False,
) -> None:
    """List your jobs, newest first."""
    with _errors():
        result = _signed_in(_config(ctx)).list_jobs(page, per_page, state)
    if as_json:
        print_json(result)
        return
    _print_jobs(result)


def job(ctx: typer.Context, job_id: JobId, as_json: AsJson = False) -> None:
    """Show a job: state, progress, timings, result, error and outputs."""
    client = _signed_in(_config(ctx))
    with _errors():
        found = ids.job(client, job_id)
    if as_json:
        print_json(found)
        return
    _print_job(found)


def cancel(ctx: typer.Context, job_id: JobId, as_json: AsJson = False) -> None:
    """Cancel a job: a queued one at once, a running one at its next check."""
    client = _signed_in(_config(ctx))
    with _errors():
        found = client.cancel_job(ids.job(client, job_id)["id"])
    if as_json:
        print_json(found)
    elif found["state"] == "cancelled":
        out.print(f"job {found['id']} cancelled")
    else:
        out.print(f"job {found['id']} asked to stop; it is still {found['state']}")


def results(
    ctx: typer.Context,
    job_id: JobId,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Folder for the outputs")
    ] = Path("."),
    as_json: AsJson = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files")] = False,
) -> None:
    """Download a job's outputs into a folder and print its result.

    Nothing is fetched when an output would replace an existing file, unless --force.

    With --json: `{"job": <the job>, "paths": [<each output written>]}`.
    """
    client = _signed_in(_config(ctx))
    with _errors():
        found = ids.job(client, job_id)
        if found["state"] != "succeeded":
            reason = f": {found['error']}" if found.get("error") else ""
            _fail(f"job {found['id']} is {found['state']}{reason}; it has no results")
        total = sum(o["size"] for o in found["outputs"])
        with _progress() as bar:
            task = bar.add_task("outputs", total=total)
            paths = client.download_outputs(
                found["id"], output_dir, progress=lambda n: bar.advance(task, n), overwrite=force
            )
    if as_json:
        print_json({"job": found, "paths": [str(path) for path in paths]})
        return
    for path in paths:
        out.print(f"{path}  {_human(path.stat().st_size)}")
    print_json(found["result"])


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
    found = _wait_job(client, job_id)
    _print_job(found)
    return bool(found["state"] == "succeeded")


def _say_queued(job_id: str) -> None:
    """Tell where a job not waited for can be followed."""
    out.print(f"job {job_id} queued: follow it with `lfp job {job_id}`")


def _wait_job(client: LfpClient, job_id: str) -> dict[str, Any]:
    """The job once it has ended, its progress shown on stderr meanwhile."""
    bar = _job_progress()
    with _errors(), bar:
        task = bar.add_task(f"job {job_id[:8]}", total=1.0, state="queued")
        return client.wait_job(
            job_id,
            on_update=lambda j: bar.update(task, completed=j["progress"], state=j["state"]),
        )


def process(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(help="The file's id, or a unique start of it")],
    processor: Annotated[str, typer.Argument(help="The processor (see `lfp processors`)")],
    param: ParamPairs = None,
    wait: WaitForJob = True,
    as_json: AsJson = False,
) -> None:
    """Run a processor on a file already stored and follow its job (exit 1 unless it succeeds).

    With --json: the job as the API shows it (the queued one with --no-wait).
    """
    client = _signed_in(_config(ctx))
    with _errors():
        found_id = ids.file(client, file_id)["id"]
    params = _job_params(client, processor, param or [])
    with _errors():
        submitted = client.submit_job(found_id, processor, params)
    if not wait:
        if as_json:
            print_json(submitted)
        else:
            _say_queued(submitted["id"])
        return
    found = _wait_job(client, submitted["id"])
    if as_json:
        print_json(found)
    else:
        _print_job(found)
    if found["state"] != "succeeded":
        raise typer.Exit(1)
