"""The calls the uploader and downloader make on a client: what they need of `LfpClient`.

A protocol, so that those modules depend on this small surface rather than on the client
that offers them as methods (which would make the two import each other).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from lfp.client.retry import RetryListener, RetryPolicy


class ServerCalls(Protocol):
    """The server's upload and file calls, and the connection they go through."""

    base_url: str
    retry: RetryPolicy
    token: str | None
    on_retry: RetryListener | None

    def http(self) -> httpx.Client:
        """This thread's HTTP connection to the server."""

    def reauthenticate(self, failed_token: str | None) -> bool:
        """After a 401 to `failed_token`: True once a fresh access token is set."""

    def create_upload(self, filename: str, size: int | None, **fields: Any) -> dict[str, Any]:
        """Start a chunked upload."""

    def check_upload(self, filename: str, size: int | None, **fields: Any) -> None:
        """`LfpError` when an upload of this shape would be refused now."""

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        """An upload's state and received chunks."""

    def put_chunk(self, upload_id: str, index: int, data: bytes, digest: str | None) -> None:
        """Send one chunk; `digest` is a Content-Digest header value."""

    def complete_upload(self, upload_id: str, checksum: str | None = None) -> dict[str, Any]:
        """Close an upload; returns `{file_id, job_id}`."""

    def get_file(self, file_id: str) -> dict[str, Any]:
        """A file's metadata and state."""
