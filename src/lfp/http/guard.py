"""Checks every request's text before a route sees it: NUL characters, JSON body size.

PostgreSQL cannot store a NUL character (U+0000) in text; a NUL in a query parameter, a
path or a JSON field would reach it and fail as a server error. `RequestGuard` answers
422 naming the field instead, for every route at once:

- the URL path and every query parameter (name or value) are checked;
- a JSON body of a POST (any `application/json` or `+json` type, or no type, which
  FastAPI reads as JSON, on routes that take JSON) is read up to `max_json_body_bytes`
  (else 413) and every string in it, member names too, is checked; it is then handed on
  unchanged.

Multipart forms are checked by `lfp.http.multipart` as they stream; the guard makes
the request's limits current (`lfp.limits.current_limits`) for every reader of its parts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfp.http.problems import problem
from lfp.limits import RequestLimits, enter_limits, leave_limits
from lfp.text import NUL, dotted, nul_locations, shown


def nul_problem(where: str, loc: list[Any]) -> dict[str, Any]:
    """The `errors` entry (as in validation errors) for a NUL character at `loc`."""
    return {"loc": loc, "msg": f"{where} contains a NUL character", "type": "nul_character"}


class RequestGuard:
    """ASGI middleware: refuse NUL characters in request text, and JSON bodies too large.

    Paths starting with one of `nul_exempt` are not checked for NUL (their routes check
    their own fields); the JSON size limit holds everywhere.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RequestLimits,
        json_exempt: tuple[str, ...] = (),
        nul_exempt: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.limits = limits
        self.json_exempt = json_exempt
        self.nul_exempt = nul_exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it on (its body replayed if it was read)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = enter_limits(self.limits)
        try:
            check_nul = not str(scope["path"]).startswith(self.nul_exempt)
            refusal = _url_refusal(scope) if check_nul else None
            if refusal is None and self._reads_json(scope):
                body = await self._json_body(scope, receive)
                if isinstance(body, bytes):
                    refusal = _json_refusal(body) if check_nul else None
                    receive = _replay(body, receive)
                else:
                    refusal = body
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
        finally:
            leave_limits(token)

    def _reads_json(self, scope: Scope) -> bool:
        if scope["method"] != "POST":  # every JSON route is a POST; PUT and PATCH take bytes
            return False
        content_type = _header(scope, b"content-type")
        if content_type is None:
            return not str(scope["path"]).startswith(self.json_exempt)
        media = content_type.split(";", 1)[0].strip().lower()
        return media == "application/json" or (
            media.startswith("application/") and media.endswith("+json")
        )

    async def _json_body(self, scope: Scope, receive: Receive) -> bytes | JSONResponse:
        """The whole body, or the 413 problem once it is over the limit."""
        limit = self.limits.max_json_body_bytes
        too_large = problem(413, f"a JSON body is at most {limit} bytes (LFP_MAX_JSON_BODY_BYTES)")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return too_large
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return bytes(body)  # the client left; the route finds out
            body.extend(message.get("body", b""))
            if len(body) > limit:
                return too_large
            if not message.get("more_body", False):
                return bytes(body)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _url_refusal(scope: Scope) -> JSONResponse | None:
    path = str(scope["path"])
    if NUL in path:
        segment = next(s for s in path.split("/") if NUL in s)
        return problem(
            422,
            f"the URL path segment `{shown(segment)}` contains a NUL character (%00)",
            extra={"errors": [nul_problem("the path", ["path", shown(segment)])]},
        )
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if NUL in name or NUL in value:
            return problem(
                422,
                f"query parameter `{shown(name)}` contains a NUL character (%00)",
                extra={"errors": [nul_problem("the parameter", ["query", shown(name)])]},
            )
    return None


def _json_refusal(body: bytes) -> JSONResponse | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route says what is wrong with it
    for loc in nul_locations(document, []):
        where = dotted(loc) or "the body"
        return problem(
            422,
            f"{where}: must not contain a NUL character (\\u0000)",
            extra={"errors": [nul_problem("the field", ["body", *map(shown, map(str, loc))])]},
        )
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes after it."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
