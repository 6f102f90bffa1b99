"""Errors the client raises: a server's problem+json answer, or a network that failed."""

from __future__ import annotations

import re
from typing import Any

import httpx


class LfpError(Exception):
    """The server refused a request; `detail` is its explanation."""

    def __init__(self, status: int, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.body = body or {}

    @classmethod
    def from_response(cls, response: httpx.Response) -> LfpError:
        """The error a failed response describes (problem+json, or its status line)."""
        body: dict[str, Any] = {}
        try:
            parsed = response.json()
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            pass
        detail = body.get("detail") or response.reason_phrase or "request failed"
        return cls(response.status_code, str(detail), body)


class LfpNetworkError(Exception):
    """The server could not be reached, even after retries.

    `url` is the server tried and `reason` what the network said (e.g. "connection
    refused"); `reached` tells whether this process ever got an answer from it: False
    means it was never there (wrong URL, not started), True that it went away.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        reason: str | None = None,
        reached: bool = True,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason or message
        self.reached = reached


class DestinationExists(FileExistsError):
    """A download would replace an existing file, and overwriting was not asked for."""


def network_reason(exc: Exception) -> str:
    """What a network failure says, short and plain: "connection refused", "timed out"."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)).strip() or type(exc).__name__
    return text[:1].lower() + text[1:]
