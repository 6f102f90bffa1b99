"""Errors the client raises: a server's problem+json answer, or a network that failed."""

from __future__ import annotations

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
    """The server could not be reached, even after retries."""
