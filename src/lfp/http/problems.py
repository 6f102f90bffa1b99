"""RFC 9457 problem+json responses, and the one mapping of domain errors onto them.

Adapters with statuses of their own (tus's 423 and 460) raise `HttpProblem` for those;
everything else a service raises is mapped here, so each error looks the same everywhere.
Requests `lfp.http.plain_json.PlainJsonProblems` marks get the same problems as
application/json with an `error` member, for browser clients that read nothing else
(Dropzone.js).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from lfp import errors
from lfp.validation_messages import message

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PLAIN_JSON = "application/json"
# True in the scope of a request whose problems are answered as PLAIN_JSON.
PLAIN_JSON_MARK = "lfp.problems.plain_json"

# Most specific first: the first class an error is an instance of gives its status.
STATUSES: tuple[tuple[type[errors.LfpError], int], ...] = (
    (errors.NotAuthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Gone, 410),
    (errors.TooLarge, 413),
    (errors.Unprocessable, 422),
    (errors.InsufficientStorage, 507),
    (errors.BadRequest, 400),
)
# The titles lfp has always used; other statuses take their standard reason phrase.
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    404: "Not found",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    460: "Checksum mismatch",
    500: "Internal server error",
    507: "Insufficient storage",
}


class HttpProblem(Exception):
    """A problem an adapter answers with a status of its own choosing."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @classmethod
    def of(cls, error: errors.LfpError, status: int | None = None) -> HttpProblem:
        """`error` as a problem: its usual status unless `status` is given."""
        return cls(
            status or status_of(error), error.detail, extra=error.extra, headers=headers_of(error)
        )


def status_of(error: errors.LfpError) -> int:
    """The status a domain error answers with, unless an adapter says otherwise."""
    for kind, status in STATUSES:
        if isinstance(error, kind):
            return status
    return 400


def headers_of(error: errors.LfpError) -> dict[str, str]:
    """The headers a domain error carries on the wire (a retry hint, a challenge)."""
    if isinstance(error, errors.Busy):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, errors.NotAuthenticated):
        return {"WWW-Authenticate": "Bearer"}
    return {}


def problem(
    status: int,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
    plain_json: bool = False,
) -> JSONResponse:
    """A problem+json response; `title` defaults to lfp's name for the status.

    `plain_json` makes it application/json with an extra `error` member holding the detail.
    """
    title = title or _title(status)
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra or {})
    media_type = PROBLEM_JSON
    if plain_json:
        body["error"] = detail
        media_type = PLAIN_JSON
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)


def install_handlers(app: FastAPI) -> None:
    """Route every error raised while handling a request to a problem+json response."""

    @app.exception_handler(errors.LfpError)
    async def _domain_error(request: Request, exc: errors.LfpError) -> JSONResponse:
        return _answer(request, HttpProblem.of(exc))

    @app.exception_handler(HttpProblem)
    async def _adapter_problem(request: Request, exc: HttpProblem) -> JSONResponse:
        return _answer(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own errors (unknown route, wrong method) keep the standard phrases.
        title = _phrase(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers or {})
        return problem(
            exc.status_code, detail, headers=headers, title=title, plain_json=_plain(request)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # In the user's words: no "Value error, " prefixes, no model class names.
        found = [
            {"loc": list(e.get("loc", ())), "msg": message(e), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in found) or "invalid input"
        return problem(422, detail, extra={"errors": found}, plain_json=_plain(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        detail = "The server failed; the error is logged."
        return problem(500, detail, plain_json=_plain(request))


def _answer(request: Request, exc: HttpProblem) -> JSONResponse:
    return problem(
        exc.status, exc.detail, extra=exc.extra, headers=exc.headers, plain_json=_plain(request)
    )


def _plain(request: Request) -> bool:
    # Whether the request's problems are answered as PLAIN_JSON (see PLAIN_JSON_MARK).
    return bool(request.scope.get(PLAIN_JSON_MARK))


def _where(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _title(status: int) -> str:
    return TITLES.get(status) or _phrase(status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
