"""Liveness and readiness probes and Prometheus metrics, at the root outside /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from kombu.connection import Connection
from prometheus_client.exposition import choose_encoder
from sqlalchemy import text

from lfp.bootstrap import Services
from lfp.deps import AppServices

router = APIRouter(tags=["health"])
# How long /readyz waits for the broker to accept a connection.
BROKER_TIMEOUT_SECONDS = 3.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: AppServices) -> JSONResponse:
    """200 when the database, the store and the broker (if any) answer; 503 naming what not."""
    checks = _run_checks(services)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


def _run_checks(services: Services) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with services.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        services.store.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"failed: {exc}"
    if services.settings.broker_url:
        checks["broker"] = check_broker(services.settings.broker_url)
    return checks


def check_broker(url: str, timeout: float = BROKER_TIMEOUT_SECONDS) -> str:
    """`ok` when the broker at `url` accepts a connection, else `failed: <reason>`."""
    try:
        with Connection(url, connect_timeout=timeout) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return "ok"
    except Exception as exc:
        return f"failed: {type(exc).__name__}: {exc}"


@router.get("/metrics", response_class=Response)
def metrics(request: Request, services: AppServices) -> Response:
    """This process's metrics: Prometheus text (0.0.4), or what the scraper's Accept asks."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(services.metrics.registry), headers={"Content-Type": content_type})
