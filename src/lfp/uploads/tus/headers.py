"""The tus 1.0.0 protocol's headers: what lfp announces, and parsing what clients send."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfp.errors import BadRequest
from lfp.uploads.append import BodyChecksum, Description
from lfp.uploads.http_input import parse_count
from lfp.uploads.schemas import (
    CHECKSUM_PATTERN,
    filename_or_default,
    media_type_or_none,
    parse_params,
)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "termination",
    "concatenation",
)
# Upload-Checksum algorithm names (as tus spells them) and hashlib's names for them.
CHECKSUM_ALGORITHMS = {"sha1": "sha1", "md5": "md5", "sha256": "sha256"}
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
TUS_PATH = "/api/v1/tus"

# Headers a browser client must be allowed to send and to read (CORS).
REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Tus-Resumable",
    "Upload-Checksum",
    "Upload-Concat",
    "Upload-Defer-Length",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "X-HTTP-Method-Override",
    "X-Requested-With",
    "Cache-Control",
)
RESPONSE_HEADERS = (
    "Location",
    "Tus-Checksum-Algorithm",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Resumable",
    "Tus-Version",
    "Upload-Concat",
    "Upload-Defer-Length",
    "Upload-Expires",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "Lfp-File-Id",
    "Lfp-Job-Id",
)


def parse_metadata(header: str | None) -> Description:
    """What Upload-Metadata (`key base64value,key2` pairs) says of the file: lfp reads
    `filename`, `filetype`, `processor`, `params` (JSON) and `checksum` (`sha256:<hex>`)."""
    pairs: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key.isascii() or not key.isprintable():
            raise BadRequest(f"Upload-Metadata key {key!r} is not printable ASCII")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8"
            ) from None
    checksum = pairs["checksum"].strip().lower() if "checksum" in pairs else None
    if checksum is not None and not re.fullmatch(CHECKSUM_PATTERN, checksum):
        raise BadRequest("Upload-Metadata checksum must be sha256:<hex> or md5:<hex>")
    return Description(
        filename=filename_or_default(pairs.get("filename") or pairs.get("name")),
        content_type=media_type_or_none(pairs.get("filetype") or pairs.get("type")),
        processor=pairs.get("processor") or None,
        params=parse_params(pairs.get("params")),
        checksum=checksum,
        client_metadata=header or None,
    )


def parse_checksum(header: str | None) -> BodyChecksum | None:
    """Upload-Checksum `<algorithm> <base64 digest>`, or None when absent."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    name = CHECKSUM_ALGORITHMS.get(algorithm.lower())
    if name is None:
        supported = ", ".join(CHECKSUM_ALGORITHMS)
        raise BadRequest(f"Upload-Checksum algorithm {algorithm!r} is not one of {supported}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise BadRequest("Upload-Checksum digest is not base64") from None
    return BodyChecksum(name, digest)


def parse_length(name: str, value: str | None) -> int | None:
    """A non-negative integer header (Upload-Length, Upload-Offset), or None when absent."""
    return parse_count(name, value) if value is not None else None


def parse_concat_final(header: str) -> list[uuid.UUID]:
    """The partial uploads named by `Upload-Concat: final;<url> <url> ...`, in order."""
    urls = header.partition(";")[2].split()
    ids = []
    for url in urls:
        path = urlsplit(url).path.rstrip("/")
        prefix, _, last = path.rpartition("/")
        try:
            if not prefix.endswith(TUS_PATH):
                raise ValueError
            ids.append(uuid.UUID(last))
        except ValueError:
            raise BadRequest(
                f"Upload-Concat names {url!r}, which is not an upload URL of this server"
            ) from None
    return ids


def http_date(moment: datetime) -> str:
    """`moment` as an HTTP date (Upload-Expires)."""
    return format_datetime(moment, usegmt=True)


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
