"""Domain errors and their one mapping to RFC 9457 problem+json responses.

Services raise these; they know nothing of HTTP beyond a status code. `install_handlers`
turns them, FastAPI's validation errors and anything unexpected into problem documents
that say what went wrong without leaking internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class LfpError(Exception):
    """A failure the caller can act on: a status, a short title and a precise detail."""

    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(LfpError):
    """The request itself is malformed (wrong length, bad index)."""


class NotAuthenticated(LfpError):
    """No valid credentials were given."""

    status = 401
    title = "Not authenticated"


class Forbidden(LfpError):
    """The request is understood but never allowed on this resource."""

    status = 403
    title = "Forbidden"


class NotFound(LfpError):
    """The resource does not exist, or belongs to someone else."""

    status = 404
    title = "Not found"


class Conflict(LfpError):
    """The resource's state does not allow this request."""

    status = 409
    title = "Conflict"


class Gone(LfpError):
    """The resource existed but was terminated or expired."""

    status = 410
    title = "Gone"


class PreconditionFailed(LfpError):
    """A precondition the client set (say a protocol version) does not hold."""

    status = 412
    title = "Precondition failed"


class TooLarge(LfpError):
    """The content is larger than this server accepts."""

    status = 413
    title = "Content too large"


class UnsupportedMediaType(LfpError):
    """The body is not of a type this endpoint takes."""

    status = 415
    title = "Unsupported media type"


class RangeNotSatisfiable(LfpError):
    """The requested byte range lies outside the file."""

    status = 416
    title = "Range not satisfiable"


class Unprocessable(LfpError):
    """Well-formed but semantically wrong input (bad digest, weak password)."""

    status = 422
    title = "Unprocessable content"


class Locked(LfpError):
    """Another request holds the resource; retry after it finishes."""

    status = 423
    title = "Locked"


class ChecksumMismatch(LfpError):
    """The body does not match the checksum the client sent with it (tus's 460)."""

    status = 460
    title = "Checksum mismatch"


class InsufficientStorage(LfpError):
    """The store has not enough free space for the upload."""

    status = 507
    title = "Insufficient storage"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def install_handlers(app: FastAPI) -> None:
    """Route every error raised while handling a request to a problem+json response."""

    @app.exception_handler(LfpError)
    async def _lfp_error(_request: Request, exc: LfpError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, extra=exc.extra, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _reason(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors) or "invalid input"
        return problem(422, "Unprocessable content", detail, extra={"errors": errors})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal server error", "The server failed; the error is logged.")


def _where(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
