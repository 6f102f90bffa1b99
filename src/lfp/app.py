"""The FastAPI application: `create_app(settings)` wires routes, errors and background work."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError
from starlette.responses import JSONResponse

from lfp import __version__
from lfp.admin.routes import router as admin_router
from lfp.auth.routes import router as auth_router
from lfp.auth.throttle import LoginThrottle, ThrottlePolicy
from lfp.bootstrap import Services, build_services
from lfp.catalog.products.routes import router as products_router
from lfp.catalog.titles.routes import router as titles_router
from lfp.config import Settings
from lfp.db.migrate import upgrade
from lfp.files.routes import router as files_router
from lfp.health import router as health_router
from lfp.http.connections import uvicorn_options as uvicorn_options  # the CLI's way in
from lfp.http.cors import install_cors
from lfp.http.guard import RequestGuard
from lfp.http.plain_json import PlainJsonProblems
from lfp.http.problems import install_handlers, problem
from lfp.http.request_metrics import RequestMetrics
from lfp.jobs.routes import router as jobs_router
from lfp.processors.routes import router as processors_router
from lfp.uploads.dropzone.routes import router as dropzone_router
from lfp.uploads.full_disk import is_disk_full, sweep_orphans
from lfp.uploads.routes import router as uploads_router
from lfp.uploads.tus.middleware import TusMiddleware
from lfp.uploads.tus.routes import router as tus_router
from lfp.web.routes import router as web_router
from lfp.web.shell import DIST

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """An lfp application for `settings`; its lifespan migrates the DB and runs the sweeper."""
    services = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await to_thread.run_sync(upgrade, settings.resolved_database_url)
        background = _start_background_work(services)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await to_thread.run_sync(services.verifier.shutdown)
            await to_thread.run_sync(services.jobs.shutdown)
            services.db.dispose()

    # The docs pages load Swagger UI from the package, not a CDN: lfp runs offline.
    app = FastAPIOffline(
        title="lfp — Large File Processor",
        version=__version__,
        description="Parallel, resumable, verified uploads of very large files. "
        "See docs/api.md for the contract.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_handlers(app)
    _install_disk_full_handlers(app)
    api = _include_routes(app)
    # Inside the tus middleware, so it sees the method tus clients override.
    # Innermost but for the routes: what it refuses is still counted, and CORS-wrapped.
    app.add_middleware(
        RequestGuard,
        limits=settings,
        json_exempt=(f"{api.prefix}/tus", f"{api.prefix}/files", f"{api.prefix}/dropzone"),
        # These routes check their own fields (the catalogue's contract: 400, or 404 by id).
        nul_exempt=(f"{api.prefix}/auth/", f"{api.prefix}/titles", f"{api.prefix}/products"),
    )
    # Outside the guard, so Dropzone shows the guard's refusals too (docs/api.md).
    app.add_middleware(PlainJsonProblems, prefixes=(f"{api.prefix}{dropzone_router.prefix}",))
    app.add_middleware(RequestMetrics, metrics=services.metrics, prefixes=[api.prefix])
    app.add_middleware(TusMiddleware)
    if settings.cors_allowed_origins:
        # Outermost, so preflights are answered before anything asks for a token.
        install_cors(app, settings.cors_allowed_origins)
    return app


def _install_disk_full_handlers(app: FastAPI) -> None:
    """Answer a full disk met anywhere (a blob write, a SQLite or PostgreSQL write) with 507;
    any other database or OS error stays a logged 500."""

    async def answer(request: Request, exc: Exception) -> JSONResponse:
        if is_disk_full(exc):
            log.warning("disk full on %s %s: %s", request.method, request.url.path, exc)
            return problem(
                507,
                "The server's disk is full, so this request could not be stored; nothing of "
                "it was kept. Try again once space has been freed.",
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "The server failed; the error is logged.")

    app.add_exception_handler(DBAPIError, answer)
    app.add_exception_handler(OSError, answer)


def _include_routes(app: FastAPI) -> APIRouter:
    """Every route: the API under /api/v1 (returned), health, the web pages and their files."""
    api = APIRouter(prefix="/api/v1")
    for router in (
        auth_router,
        admin_router,
        uploads_router,
        tus_router,
        dropzone_router,
        files_router,
        jobs_router,
        processors_router,
        titles_router,
        products_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=DIST.parent, check_dir=False), name="static")
    return api


def _start_background_work(services: Services) -> list[asyncio.Task[None]]:
    """The tasks that run as long as the app: sweeps, job recovery, forgetting old failures."""
    return [
        asyncio.create_task(_sweep_expired(services)),
        asyncio.create_task(_recover_jobs(services)),
        asyncio.create_task(_forget_old_sign_ins(services)),
    ]


async def _sweep_expired(services: Services) -> None:
    """Expire idle uploads and remove orphaned staging blobs, at startup and then every
    `sweep_interval_seconds`, for as long as the app runs."""
    while True:
        try:
            while await to_thread.run_sync(services.uploads.expire) > 0:
                pass
        except Exception:
            log.exception("sweeping expired uploads failed; trying again later")
        try:
            await to_thread.run_sync(sweep_orphans, services.db, services.store)
        except Exception:
            log.exception("sweeping orphaned staging blobs failed; trying again later")
        await asyncio.sleep(services.settings.sweep_interval_seconds)


async def _forget_old_sign_ins(services: Services) -> None:
    """Delete, every `sweep_interval_seconds`, the login counters whose failures are
    forgotten, expired sessions and refresh tokens used too long ago to matter."""
    throttle = LoginThrottle(services.db, ThrottlePolicy.from_settings(services.settings))
    sessions = services.sessions
    while True:
        for prune, what in ((throttle.prune, "failed logins"), (sessions.prune, "sessions")):
            try:
                await to_thread.run_sync(prune)
            except Exception:
                log.exception("forgetting old %s failed; trying again later", what)
        await asyncio.sleep(services.settings.sweep_interval_seconds)


async def _recover_jobs(services: Services) -> None:
    """Queue again, at startup and then every little while, jobs that lost their worker.

    Every job a crash or restart left queued or running is found here, whichever executor
    runs jobs: the database, not the broker, knows what is left to do.
    """
    interval = min(services.settings.job_lease_seconds / 2, 10.0)
    # At startup, jobs handed to an in-process pool before a crash are in no queue at all.
    resend_all = not services.executor.durable
    while True:
        try:
            alive = services.runner.running()
            recover = functools.partial(services.jobs.recover, alive, resend_all=resend_all)
            recovered = await to_thread.run_sync(recover)
            if recovered:
                log.info("queued %d jobs again", recovered)
            verify = functools.partial(_recover_verifications, services, resend_all=resend_all)
            resent = await to_thread.run_sync(verify)
            resend_all = False
            if resent:
                log.info("verifying %d files again", resent)
        except Exception:
            log.exception("recovering jobs failed; trying again later")
        await asyncio.sleep(interval)


def _recover_verifications(services: Services, *, resend_all: bool) -> int:
    """Hand to the executor again files `verifying` whose verifier died or gave them back.

    A file whose lease a live verifier (here or elsewhere) holds is left alone, and one
    never claimed gets `job_requeue_seconds` for its first message to arrive (no time at
    all after a start: an in-process pool's queue died with the process before it).
    """
    unsent_for = 0.0 if resend_all else services.settings.job_requeue_seconds
    orphans = services.verifier.orphans(unsent_for=unsent_for)
    for file_id in orphans:
        services.executor.submit_verification(file_id)
    return len(orphans)
