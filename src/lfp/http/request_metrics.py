"""A pure ASGI middleware counting requests by route template and status.

It sees only the `http.response.start` message go by: bodies pass through untouched, in
both directions. Requests that matched no route count as route `unmatched`.

FastAPI keeps included routers nested, so the route a request matched knows its path only
below the prefix it was included with (`/uploads/{upload_id}`, not `/api/v1/uploads/...`):
the middleware is told those prefixes and puts back the one the request's path starts with.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfp.metrics import Metrics

UNMATCHED = "unmatched"


class RequestMetrics:
    """Counts every HTTP request into `metrics` once its response has started (or failed)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, prefixes: Iterable[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers if the app raises before responding

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.request(scope["method"], self.template(scope), status)

    def template(self, scope: Scope) -> str:
        """The full path template of the route `scope` matched, or `unmatched`."""
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if not isinstance(template, str):
            return UNMATCHED
        regex = getattr(route, "path_regex", None)
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if regex is None or regex.fullmatch(path):
            return template
        for prefix in self.prefixes:
            if path.startswith(prefix) and regex.fullmatch(path.removeprefix(prefix)):
                return prefix + template
        return template
