"""The limits on what one request may send: its head, its body, its forms and its uploads.

They are part of `lfp.config.Settings` (set as `LFP_*` variables like every setting) and
kept here so that the settings module stays readable. Each answer past a limit is a 4xx
problem naming the limit: 431 for a request head, 413 for a body or a form, 422 for a
name or an upload's chunk count, 408 for a head that never finished arriving.
"""

from __future__ import annotations

import contextvars
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings

KiB = 1024
MiB = 1024 * KiB

# The limits of the request being handled, set by `lfp.http.guard.RequestGuard`, so that
# what reads a request's parts (form readers, filename checks) needs not be handed them.
_CURRENT: contextvars.ContextVar[RequestLimits | None] = contextvars.ContextVar(
    "lfp_request_limits", default=None
)


def _limit(default: float, description: str, *, shown: str | None = None, **bounds: Any) -> Any:
    """A limit field whose description ends by stating its default, as every setting's does."""
    stated = shown if shown is not None else f"{default:g}"
    return Field(default=default, description=f"{description} Default: {stated}.", **bounds)


class RequestLimits(BaseSettings):
    """How much one request may send, and how long it may take to send its head."""

    max_header_bytes: int = _limit(
        32 * KiB,
        "Largest request head (request line and header fields), in bytes; a larger one is "
        "answered 431 and the connection closed.",
        shown="32768 (32 KiB)",
        ge=1024,
    )
    max_header_count: int = _limit(
        100, "Most header fields one request may have; more are answered 431.", ge=1
    )
    headers_timeout_seconds: float = _limit(
        30.0,
        "A connection whose request line and headers have not all arrived this long after "
        "the server began waiting for them is answered 408 and closed (slow or idle "
        "clients cannot hold connections open).",
        gt=0,
    )
    keep_alive_seconds: int = _limit(
        5, "An idle keep-alive connection is closed after this many seconds.", ge=1
    )
    max_json_body_bytes: int = _limit(
        1 * MiB,
        "Largest JSON request body, in bytes; a larger one is answered 413.",
        shown="1048576 (1 MiB)",
        ge=1024,
    )
    max_form_parts: int = _limit(
        100,
        "Most parts a multipart form may have before its file part; more are answered 413.",
        ge=1,
    )
    max_form_field_bytes: int = _limit(
        64 * KiB,
        "Largest text field of a multipart form, in bytes; a larger one is answered 413.",
        shown="65536 (64 KiB)",
        ge=1,
    )
    max_filename_length: int = _limit(
        255,
        "Longest file name accepted, in characters (at most 1024); a longer one is answered 422.",
        ge=1,
        le=1024,
    )
    max_chunks_per_upload: int = _limit(
        1_048_576,
        "Most chunks one upload may have (a larger file needs larger chunks): an upload "
        "declaring more is answered 422, a chunk beyond it in an upload of deferred length 413.",
        shown="1048576 (a 1 TiB file in 1 MiB chunks)",
        ge=1,
    )


def current_limits() -> RequestLimits:
    """The limits of the request being handled; the defaults outside a guarded request."""
    return _CURRENT.get() or RequestLimits.model_construct()


def enter_limits(limits: RequestLimits) -> contextvars.Token[RequestLimits | None]:
    """Make `limits` the current ones (for one request); `leave_limits` undoes it."""
    return _CURRENT.set(limits)


def leave_limits(token: contextvars.Token[RequestLimits | None]) -> None:
    """Restore the limits in force before `enter_limits` gave back `token`."""
    _CURRENT.reset(token)
