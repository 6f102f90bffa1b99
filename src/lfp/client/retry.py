"""Retrying HTTP calls with exponential backoff on network errors, 5xx and busy answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from lfp.client.errors import LfpError, LfpNetworkError, network_reason


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


# Told the retry number (1, 2, ...) before each wait after a network error or a 5xx,
# and None when a request gets through after such waits: a "server unreachable" notice.
RetryListener = Callable[[int | None], None]

# The patience for a server this process has never reached: a wrong URL or a server not
# started fails in about a second instead of waiting out `RetryPolicy()`.
FIRST_CONTACT = RetryPolicy(attempts=3, first_delay=0.2, max_delay=0.5)


def call_with_retries(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: RetryListener | None = None,
) -> httpx.Response:
    """The first successful response of `send()`; `LfpError` for a final 4xx.

    Network errors, 5xx answers and 409/429/503 answers carrying Retry-After (the server
    says "busy, come back") are retried; anything else is final. `on_retry` hears of the
    retries an unreachable or failing server causes (not of "busy" answers), and of the
    first answer after them. Giving up on the network raises
    `LfpNetworkError` with the network's `reason`.
    """
    retried = False
    for attempt in range(policy.attempts):
        last_try = attempt == policy.attempts - 1
        try:
            response = send()
        except httpx.TransportError as exc:
            if last_try:
                reason = network_reason(exc)
                raise LfpNetworkError(f"cannot reach the server ({reason})", reason=reason) from exc
            retried = _notify(on_retry, attempt)
            sleep(policy.delay(attempt))
            continue
        if retried and on_retry and response.status_code < 500:
            on_retry(None)  # an answer: the server is back, whatever it says
            retried = False
        if response.is_success or response.status_code == 304:
            return response
        retry_after = _retry_after(response)
        retryable = response.status_code >= 500 or retry_after is not None
        if not retryable or last_try:
            raise LfpError.from_response(response)
        if retry_after is None:
            retried = _notify(on_retry, attempt)
        sleep(retry_after if retry_after is not None else policy.delay(attempt))
    raise AssertionError("unreachable")


def _notify(on_retry: RetryListener | None, attempt: int) -> bool:
    """Tell `on_retry` of retry number `attempt + 1`; True (a retry happened)."""
    if on_retry:
        on_retry(attempt + 1)
    return True


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (409, 429, 503):
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
