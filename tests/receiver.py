"""A real HTTP server, in a thread of the test, for the `forward` processor to send files to.

It reads each request body in blocks (never whole), records what arrived and answers with
the replies it was given, in order: e.g. 503, 503, then 201.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One answer of the receiver."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    length: int  # body bytes read
    sha256: str  # hex digest of those bytes
    complete: bool  # as many bytes as Content-Length announced


class Receiver:
    """Answers `replies` in order (the last one for every later request); a context manager."""

    def __init__(self, replies: Sequence[Reply] = (Reply(201),)) -> None:
        self.replies = list(replies)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        # A short poll interval: shutdown() waits for the loop to notice it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the server, without a trailing slash."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=30)

    def record(self, received: Received) -> Reply:
        """Keep `received`; the reply it gets."""
        with self._lock:
            self.requests.append(received)
            return self.replies[min(len(self.requests), len(self.replies)) - 1]


class _Server(ThreadingHTTPServer):
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30  # a stalled client must not hold a handler thread forever

    def do_PUT(self) -> None:
        self._receive()

    def do_POST(self) -> None:
        self._receive()

    def _receive(self) -> None:
        expected = int(self.headers.get("Content-Length", "0"))
        hasher = hashlib.sha256()
        length = 0
        try:
            while length < expected and (block := self.rfile.read(min(1 << 20, expected - length))):
                hasher.update(block)
                length += len(block)
        except OSError:
            pass  # the client went away mid-body; recorded as incomplete
        headers = {name.lower(): value for name, value in self.headers.items()}
        received = Received(
            method=self.command,
            path=self.path,
            headers=headers,
            length=length,
            sha256=hasher.hexdigest(),
            complete=length == expected and "transfer-encoding" not in headers,
        )
        reply = self.server.receiver.record(received)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # nobody is listening any more

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""
