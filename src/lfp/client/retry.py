"""Retrying HTTP calls with exponential backoff on network errors, 5xx and busy answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from lfp.client.errors import LfpError, LfpNetworkError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: delays double from `first_delay` to `max_delay`."""

    attempts: int = 10
    first_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based), with jitter."""
        base = min(self.max_delay, self.first_delay * 2.0**attempt)
        return float(base * random.uniform(0.5, 1.0))


def call_with_retries(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """The first successful response of `send()`; `LfpError` for a final 4xx.

    Network errors, 5xx answers and 409/429/503 answers carrying Retry-After (the server
    says "busy, come back") are retried; anything else is final.
    """
    for attempt in range(policy.attempts):
        last_try = attempt == policy.attempts - 1
        try:
            response = send()
        except httpx.TransportError as exc:
            if last_try:
                raise LfpNetworkError(f"cannot reach the server: {exc}") from exc
            sleep(policy.delay(attempt))
            continue
        if response.is_success or response.status_code == 304:
            return response
        retry_after = _retry_after(response)
        retryable = response.status_code >= 500 or retry_after is not None
        if not retryable or last_try:
            raise LfpError.from_response(response)
        sleep(retry_after if retry_after is not None else policy.delay(attempt))
    raise AssertionError("unreachable")


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (409, 429, 503):
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
