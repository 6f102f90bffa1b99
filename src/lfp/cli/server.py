"""The server-side commands: `serve`, `worker` and `db upgrade`.

Server modules (the app, the worker, the database) are imported inside the commands, so
that the client commands start without loading them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from lfp.cli.common import _fail, _redacted, _settings, out

if TYPE_CHECKING:
    from lfp.config import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [default: LFP_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: LFP_PORT]")] = None,
) -> None:
    """Run the lfp server (embedded mode: SQLite and a local folder unless configured)."""
    import uvicorn

    from lfp.app import create_app, uvicorn_options

    settings = _settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)
    _prepare(settings)
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
        **uvicorn_options(settings),
    )


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

    _prepare(settings)
    out.print(f"lfp worker taking jobs from {_redacted(settings.broker_url)}")
    run_worker(settings, concurrency)


def db_upgrade() -> None:
    """Apply the database migrations (the server also does this when it starts)."""
    from lfp.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    out.print(f"database at {_redacted(settings.resolved_database_url)} is up to date")


def _prepare(settings: Settings) -> None:
    """The data folder made and INFO logs on the console, as a long-running process wants."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
