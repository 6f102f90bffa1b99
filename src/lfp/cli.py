"""The `lfp` command: run the server and workers, sign in, upload, download, run jobs."""

from __future__ import annotations

import getpass
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from lfp.client import LfpClient, LfpError, LfpNetworkError
from lfp.client.params import ParamError, parse_params
from lfp.client.state import Credentials, ResumeState, default_config_dir
from lfp.config import Settings

app = typer.Typer(help="lfp: move very large files into a system, verified.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)
out = Console(soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class ClientConfig:
    """Where the CLI talks to and as whom: options and LFP_* variables over saved login."""

    url: str
    token: str | None
    config_dir: Path

    def client(self) -> LfpClient:
        """A client for the configured server and token."""
        return LfpClient(self.url, self.token)


@app.callback()
def _configure(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(envvar="LFP_URL", help="Server URL [default: saved or local]")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="LFP_TOKEN", help="Bearer token [default: saved]")
    ] = None,
    config_dir: Annotated[
        Path | None, typer.Option(envvar="LFP_CONFIG_DIR", help="Folder for login and resume")
    ] = None,
) -> None:
    folder = config_dir or default_config_dir()
    saved = Credentials(folder).load()
    ctx.obj = ClientConfig(
        url=url or saved.get("url") or DEFAULT_URL,
        token=token or saved.get("token"),
        config_dir=folder,
    )


# -- server ---------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [default: LFP_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: LFP_PORT]")] = None,
) -> None:
    """Run the lfp server (embedded mode: SQLite and a local folder unless configured)."""
    import uvicorn

    from lfp.app import create_app

    settings = _settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    application = create_app(settings)
    out.print(
        f"lfp serving on http://{settings.host}:{settings.port} "
        f"(data in {settings.data_dir.resolve()}; API docs at /docs)"
    )
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once [default: LFP_JOB_WORKERS]")
    ] = None,
) -> None:
    """Run a Celery worker that executes jobs sent through LFP_BROKER_URL."""
    settings = _settings()
    if not settings.broker_url:
        _fail("lfp worker needs a broker: set LFP_BROKER_URL to redis://… or amqp://…")
    from lfp.worker import run_worker

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    out.print(f"lfp worker taking jobs from {_redacted(settings.broker_url)}")
    run_worker(settings, concurrency)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (the server also does this when it starts)."""
    from lfp.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    out.print(f"database at {_redacted(settings.resolved_database_url)} is up to date")


# -- account --------------------------------------------------------------------------


@app.command()
def signup(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="Account email")] = None,
    password: Annotated[str | None, typer.Option(help="Password (asked when omitted)")] = None,
) -> None:
    """Create an account and sign in with it."""
    config: ClientConfig = ctx.obj
    email = email or typer.prompt("Email")
    password = password or _ask_password(confirm=True)
    with _errors():
        client = config.client()
        client.signup(email, password)
        _login(config, client, email, password)


@app.command()
def login(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="Account email")] = None,
    password: Annotated[str | None, typer.Option(help="Password (asked when omitted)")] = None,
) -> None:
    """Sign in and save the token (mode 0600) for later commands."""
    config: ClientConfig = ctx.obj
    email = email or typer.prompt("Email")
    password = password or _ask_password(confirm=False)
    with _errors():
        _login(config, config.client(), email, password)


def _login(config: ClientConfig, client: LfpClient, email: str, password: str) -> None:
    token = client.login(email, password)
    Credentials(config.config_dir).save(config.url, token, email)
    out.print(f"signed in to {config.url} as {email}")


def _ask_password(*, confirm: bool) -> str:
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Repeat password: ") != password:
        _fail("the passwords differ")
    return password


# -- files ----------------------------------------------------------------------------


@app.command()
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
    config: ClientConfig = ctx.obj
    size = parse_size(chunk_size) if chunk_size else None
    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
    if param and not process:
        _fail("--param needs --process")
    client = _signed_in(config)
    params = _job_params(client, process, param or []) if process else None
    resume = ResumeState(config.config_dir)
    failed = False
    for path in files:
        with _errors(), _progress() as bar:
            task = bar.add_task(path.name, total=path.stat().st_size)
            file = client.upload_file(
                path,
                chunk_size=size,
                parallel=parallel,
                chunk_digests=chunk_digests,
                resume=resume,
                progress=lambda n, t=task: bar.advance(t, n),
                processor=process,
                params=params,
            )
        if file["state"] != "ready":
            _fail(f"{path}: the server could not verify the upload: {file.get('error')}")
        out.print(f"{file['id']}  {path.name}  {_human(file['size'])}  sha256 {file['sha256']}")
        if file.get("job_id"):
            if wait:
                failed |= not _follow_job(client, file["job_id"])
            else:
                out.print(f"job {file['job_id']} queued: follow it with `lfp job {file['job_id']}`")
    if failed:
        raise typer.Exit(1)


@app.command()
def download(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(help="The file's id")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write")] = None,
) -> None:
    """Download a file, resuming a partial copy, and check its sha256."""
    config: ClientConfig = ctx.obj
    client = _signed_in(config)
    with _errors():
        meta = client.get_file(file_id)
        with _progress() as bar:
            task = bar.add_task(meta["filename"], total=meta["size"])
            path = client.download(file_id, output, progress=lambda n: bar.advance(task, n))
    out.print(f"{path}  {_human(meta['size'])}  sha256 {meta['sha256']}")


@app.command("files")
def list_files(
    ctx: typer.Context,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """List your files, newest first."""
    config: ClientConfig = ctx.obj
    with _errors():
        result = _signed_in(config).list_files(page, per_page)
    rows = [
        (f["id"], f["filename"], _human(f["size"]), f["state"], f["sha256"] or "", f["created_at"])
        for f in result["items"]
    ]
    _print_rows(
        ("id", "name", "size", "state", "sha256", "created"),
        rows,
        shorten=lambda row: (*row[:4], row[4][:12], row[5][:19]),
        footer=f"page {result['page']}: {len(rows)} of {result['total']} files",
    )


# -- jobs -----------------------------------------------------------------------------


@app.command()
def processors(ctx: typer.Context) -> None:
    """List the processors the server offers and their params."""
    config: ClientConfig = ctx.obj
    with _errors():
        found = _signed_in(config).processors()
    for processor in found:
        out.print(f"[bold]{processor['name']}[/bold]  {processor['description']}")
        schema = processor["params_schema"]
        required = set(schema.get("required", []))
        for name, field in schema.get("properties", {}).items():
            default = (
                "required" if name in required else f"default {json.dumps(field.get('default'))}"
            )
            out.print(f"    --param {name}=…  {field.get('description', '')} ({default})")


@app.command("jobs")
def list_jobs(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state, e.g. running or failed")
    ] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """List your jobs, newest first."""
    config: ClientConfig = ctx.obj
    with _errors():
        result = _signed_in(config).list_jobs(page, per_page, state)
    rows = [
        (
            j["id"],
            j["processor"],
            j["state"],
            f"{j['progress'] * 100:.0f}%",
            _seconds(j["processing_seconds"]),
            j["queued_at"],
        )
        for j in result["items"]
    ]
    _print_rows(
        ("id", "processor", "state", "progress", "took", "queued"),
        rows,
        shorten=lambda row: (*row[:5], row[5][:19]),
        footer=f"page {result['page']}: {len(rows)} of {result['total']} jobs",
    )


@app.command()
def job(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job's id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON")] = False,
) -> None:
    """Show a job: state, progress, timings, result, error and outputs."""
    config: ClientConfig = ctx.obj
    with _errors():
        found = _signed_in(config).get_job(job_id)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    _print_job(found)


@app.command()
def cancel(ctx: typer.Context, job_id: Annotated[str, typer.Argument(help="The job's id")]) -> None:
    """Cancel a job: a queued one at once, a running one at its next check."""
    config: ClientConfig = ctx.obj
    with _errors():
        found = _signed_in(config).cancel_job(job_id)
    if found["state"] == "cancelled":
        out.print(f"job {job_id} cancelled")
    else:
        out.print(f"job {job_id} asked to stop; it is still {found['state']}")


@app.command()
def results(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job's id")],
    output_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Folder for the outputs")
    ] = Path("."),
) -> None:
    """Download a job's outputs into a folder and print its result."""
    config: ClientConfig = ctx.obj
    client = _signed_in(config)
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
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=err,
    )
    with _errors(), bar:
        task = bar.add_task(f"job {job_id[:8]}", total=1.0, state="queued")
        found = client.wait_job(
            job_id,
            on_update=lambda j: bar.update(task, completed=j["progress"], state=j["state"]),
        )
    _print_job(found)
    return bool(found["state"] == "succeeded")


def _print_job(found: dict[str, Any]) -> None:
    out.print(f"job {found['id']}  {found['processor']}  [bold]{found['state']}[/bold]")
    out.print(f"  file {found['file_id']}  params {json.dumps(found['params'])}")
    unit = found.get("progress_unit") or ""
    done = found.get("progress_done")
    counted = f" ({done} of {found.get('progress_total')} {unit})" if done is not None else ""
    out.print(f"  progress {found['progress'] * 100:.0f}%{counted}  attempts {found['attempts']}")
    out.print(
        f"  queued {found['queued_at'][:19]}  upload took {_seconds(found['upload_seconds'])}"
        f"  processing took {_seconds(found['processing_seconds'])}"
    )
    if found.get("error"):
        err.print(f"  [red]error:[/red] {found['error']}")
    for output in found.get("outputs", []):
        out.print(f"  output {output['name']}  {_human(output['size'])}")
    if found.get("result") is not None:
        out.print(f"  result {json.dumps(found['result'])}")
    if found["outputs"]:
        out.print(f"  download with `lfp results {found['id']}`")


def _print_rows(
    headers: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    shorten: Callable[[tuple[str, ...]], tuple[str, ...]],
    footer: str,
) -> None:
    """A table and `footer` on a terminal; piped, one tab-separated line per row, whole."""
    if not out.is_terminal:
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table(*headers)
    for row in rows:
        table.add_row(*shorten(row))
    table.columns[0].no_wrap = True
    out.print(table)
    out.print(footer)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


# -- catalogues -------------------------------------------------------------------------

Page = Annotated[int, typer.Option(min=1, help="Page number")]
PerPage = Annotated[int, typer.Option(min=1, max=100, help="Rows per page")]
SortOrder = Annotated[
    int | None, typer.Option(help="-1 descending, 1 ascending [default: the server's, -1]")
]
Search = Annotated[str | None, typer.Option("--q", "-q", help="Search text")]


@app.command()
def titles(
    ctx: typer.Context,
    page: Page = 1,
    per_page: PerPage = 10,
    sort_by: Annotated[
        str | None, typer.Option(help="Column to sort by [default: date_added]")
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    type_: Annotated[str | None, typer.Option("--type", help="Movie or TV Show")] = None,
    country: Annotated[str | None, typer.Option(help="Only this country")] = None,
    release_year: Annotated[int | None, typer.Option(help="Only this release year")] = None,
) -> None:
    """List the titles catalogue, paged, sorted and filtered like GET /titles."""
    _print_catalog(
        ctx,
        "titles",
        ("show_id", "type", "title", "country", "date_added", "release_year"),
        page=page,
        per_page=per_page,
        sort_by=sort_by,
        sort_order=sort_order,
        q=q,
        type=type_,
        country=country,
        release_year=release_year,
    )


@app.command()
def products(
    ctx: typer.Context,
    page: Page = 1,
    per_page: PerPage = 10,
    sort_by: Annotated[
        str | None,
        typer.Option(help="sku, name or updated_at; with --aggregates name or count"),
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    aggregates: Annotated[
        bool, typer.Option("--aggregates", help="Names and their number of products instead")
    ] = False,
) -> None:
    """List the products catalogue (or, with --aggregates, products per name)."""
    if aggregates:
        _print_catalog(
            ctx,
            "products/aggregates",
            ("name", "count"),
            page=page,
            per_page=per_page,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        return
    _print_catalog(
        ctx,
        "products",
        ("sku", "name", "updated_at"),
        page=page,
        per_page=per_page,
        sort_by=sort_by,
        sort_order=sort_order,
        q=q,
    )


def _print_catalog(ctx: typer.Context, name: str, columns: tuple[str, ...], **query: Any) -> None:
    config: ClientConfig = ctx.obj
    with _errors():
        result = _signed_in(config).catalog(name, **query)
    rows = [
        tuple("" if item.get(c) is None else str(item[c]) for c in columns)
        for item in result["items"]
    ]
    _print_rows(
        columns,
        rows,
        shorten=lambda row: tuple(value[:40] for value in row),
        footer=f"page {result['page']}: {len(rows)} of {result['total']} {name}",
    )


# -- helpers --------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3}
_UNITS |= {"gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str) -> int:
    """Bytes in a size such as `8388608`, `8MiB`, `16M` or `1.5GiB` (M and MB are 10^6)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise typer.BadParameter(f"cannot read {text!r} as a size (try 8MiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _settings() -> Settings:
    """The server's settings from LFP_* variables and .env; a clear error when invalid."""
    from pydantic import ValidationError

    from lfp.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LFP_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}")


def _signed_in(config: ClientConfig) -> LfpClient:
    if not config.token:
        _fail("not signed in: run `lfp login` (or set LFP_TOKEN)")
    return config.client()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


@contextmanager
def _errors() -> Iterator[None]:
    """Turn client failures into a one-line reason and a non-zero exit."""
    try:
        yield
    except LfpError as exc:
        if exc.status == 401:
            _fail(f"{exc.detail} (run `lfp login`)")
        _fail(exc.detail if exc.status == 0 else f"{exc.detail} (HTTP {exc.status})")
    except LfpNetworkError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    except KeyboardInterrupt:
        typer.echo("interrupted: run the same command again to resume", err=True)
        raise typer.Exit(130) from None


def _fail(message: str) -> NoReturn:
    typer.echo(f"lfp: error: {message}", err=True)
    raise typer.Exit(1)


def _redacted(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
