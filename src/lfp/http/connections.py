"""What a connection may do before its request reaches the app: head size, count and time.

uvicorn's httptools protocol has no limit of its own on a request's head and no timeout
while a head arrives (its keep-alive timer stops at the first byte), so a client could
send endless headers, or a few bytes and then nothing, and hold the connection forever.
`GuardedHttpToolsProtocol` adds to it, for every connection:

- a head (request line and header fields) over `max_header_bytes`, or with more than
  `max_header_count` fields, is answered 431 and the connection closed;
- a head not complete `headers_timeout_seconds` after the server began waiting for it
  (the connection opened, or the previous response ended) is answered 408 and closed.

The app sees nothing of it: a request past these limits never reaches it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from lfp.limits import RequestLimits


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head that broke a limit."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on each request head (see the module)."""

    limits: ClassVar[RequestLimits]  # set by `uvicorn_options`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between the end of a message (or the start) and a full head
        self._head_bytes = 0  # bytes fed to the parser while it was in a head
        self._head_size = 0  # the header fields' bytes counted by the parser
        self._head_fields = 0
        self._refusal: str | None = None  # why a parser callback stopped the head
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection, and the clock for its first head."""
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection, and its head timer."""
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, answering 431 as soon as a head breaks a limit."""
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(431, self._refusal)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        # A head still incomplete once all of `data` is fed is made of all those bytes.
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, self._too_large_detail())

    def on_message_begin(self) -> None:
        """A new request: count its head from nothing."""
        super().on_message_begin()
        self._head_fields = 0
        self._head_size = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header field, refusing one too many or a head too large."""
        self._head_fields += 1
        self._head_size += len(name) + len(value) + 4  # `name: value` and its CRLF
        if self._head_fields > self.limits.max_header_count:
            self._refusal = (
                f"the request has more than {self.limits.max_header_count} header fields"
            )
        elif self._head_size + len(self.url) > self.limits.max_header_bytes:
            self._refusal = self._too_large_detail()
        if self._refusal is not None:
            raise _HeadTooLarge(self._refusal)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is in: stop its clock and hand the request on."""
        self._in_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The body is in; what comes next on the connection is a new head."""
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """The response is sent; when no request waits, start the clock for the next head."""
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_head_timer()

    def _too_large_detail(self) -> str:
        return f"the request line and headers are over {self.limits.max_header_bytes} bytes"

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(
            self.limits.headers_timeout_seconds, self._head_timed_out
        )

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if not self._in_head or busy or self.transport.is_closing():
            return
        if self._head_bytes == 0:
            self.transport.close()  # nothing of a new request came: close it quietly
            return
        seconds = f"{self.limits.headers_timeout_seconds:g}"
        self._refuse(408, f"the request line and headers did not arrive within {seconds} s")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer problem+json `status` and close the connection; the app never sees it."""
        self.logger.warning("refused a request: %s", detail)
        title = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
        body = json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
        ).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()


def uvicorn_options(limits: RequestLimits) -> dict[str, Any]:
    """Options for `uvicorn.run` that serve with these connection limits."""
    protocol = type(
        "LfpHttpProtocol", (GuardedHttpToolsProtocol,), {"limits": limits, "__module__": __name__}
    )
    return {"http": protocol, "timeout_keep_alive": limits.keep_alive_seconds}
