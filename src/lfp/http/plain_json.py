"""Problems as application/json with an `error` member, for clients that read nothing else.

Dropzone.js parses a response body only when its Content-Type contains "application/json"
(which "application/problem+json" does not) and shows the parsed body's `error`. Under the
paths `PlainJsonProblems` is given, every problem is answered so: the same members
(`type`, `title`, `status`, `detail` and any extras), plus `error` equal to `detail`.

The middleware marks the request's scope, so lfp's error handlers (those of
`lfp.http.problems`, the 500 one outside every middleware included) render such problems
directly, whatever raised them: a dependency before the route's body ran (a missing
token's 401), request validation, the route itself. A problem+json response built by
anything else on the way (a middleware refusing the request before any route, a handler
calling `problem()` itself) is rewritten as it passes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfp.http.problems import PLAIN_JSON, PLAIN_JSON_MARK, PROBLEM_JSON


class PlainJsonProblems:
    """ASGI middleware: the problems of requests under `prefixes` as plain JSON."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mark the request, and rewrite any problem+json answer that still comes back."""
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        scope[PLAIN_JSON_MARK] = True  # in place: the outermost error handler reads it too
        start: Message | None = None
        body = bytearray()

        async def send_plain(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _is_problem(message):
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_rewritten(send, start, bytes(body))

        await self.app(scope, receive, send_plain)


def _is_problem(start: Message) -> bool:
    content_type = MutableHeaders(scope=start).get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == PROBLEM_JSON


async def _send_rewritten(send: Send, start: Message, body: bytes) -> None:
    """Send the problem in `body` as plain JSON with `error` (unchanged if it is not JSON)."""
    content_type = PROBLEM_JSON
    try:
        document: Any = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        document["error"] = str(document.get("detail") or document.get("title") or "")
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = PLAIN_JSON
    headers = MutableHeaders(scope=start)
    headers["content-type"] = content_type
    headers["content-length"] = str(len(body))
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
