"""What every tus response and request needs, whatever the route: `Tus-Resumable` on each
response (errors included) and `X-HTTP-Method-Override` for clients behind strict proxies."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfp.uploads.tus.headers import TUS_PATH, TUS_VERSION


class TusMiddleware:
    """For requests under /api/v1/tus: `Tus-Resumable` on every response (errors too) and
    `X-HTTP-Method-Override` for clients behind proxies that only pass GET and POST."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(TUS_PATH):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            override = _header(scope, b"x-http-method-override")
            if override and override.upper() in {"PATCH", "DELETE", "HEAD"}:
                scope = {**scope, "method": override.upper()}

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"tus-resumable", TUS_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
