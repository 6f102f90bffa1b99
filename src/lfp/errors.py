"""Domain errors: what went wrong, in words a caller can act on, and nothing of HTTP.

Services raise these. Each protocol adapter decides what they look like on the wire: the
native API through `lfp.http.problems`, tus and Dropzone through their own mappings (a
digest mismatch is 422 in one and 460 in the other; a busy upload 409 or 423).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LfpError(Exception):
    """A failure the caller can act on: a precise detail, and facts a client may read."""

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class BadRequest(LfpError):
    """The request itself is malformed (wrong length, bad index, unreadable field)."""


class NotAuthenticated(LfpError):
    """No valid credentials were given."""


class Forbidden(LfpError):
    """The request is understood but never allowed on this resource."""


class NotFound(LfpError):
    """The resource does not exist, or belongs to someone else."""


class Conflict(LfpError):
    """The resource's state does not allow this request."""


class Gone(LfpError):
    """The resource existed but was terminated, expired or used up."""


class TooLarge(LfpError):
    """The content is larger than this server accepts."""


class Unprocessable(LfpError):
    """Well-formed but semantically wrong input (unknown processor, weak password)."""


class InsufficientStorage(LfpError):
    """The store has not enough free space for the bytes."""


class OffsetMismatch(Conflict):
    """An in-order write was sent for another offset than where the upload stands."""

    def __init__(self, detail: str, *, expected: int, sent: int) -> None:
        super().__init__(detail, extra={"offset": expected})
        self.expected = expected
        self.sent = sent


class Busy(Conflict):
    """Another request holds what this one needs; it should be free in `retry_after` s.

    The detail ends with that advice, in whole seconds (at least one).
    """

    def __init__(self, detail: str, *, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"{detail}; retry in {self.retry_after} s")


class DigestMismatch(Unprocessable):
    """The bytes that arrived do not match the digest the client sent with them."""

    def __init__(self, detail: str, *, algorithm: str) -> None:
        super().__init__(detail)
        self.algorithm = algorithm


class MissingChunks(Conflict):
    """An upload cannot complete: these chunks are not stored (or do not fit the file)."""

    def __init__(self, detail: str, *, missing: Sequence[int]) -> None:
        super().__init__(
            detail, extra={"missing": list(missing[:10_000]), "missing_count": len(missing)}
        )
        self.missing = list(missing)


class Superseded(Conflict):
    """A newer request for the same upload took over, and this one stopped."""


class BodyCut(Exception):
    """The client's connection closed before the body ended.

    Raised by the adapters' body iterators; the upload services re-raise it with
    `received` set to the bytes that arrived (and were written) before the cut.
    """

    def __init__(self, received: int = 0) -> None:
        super().__init__(f"the body was cut off after {received} bytes")
        self.received = received
