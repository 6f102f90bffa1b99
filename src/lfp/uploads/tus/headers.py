"""The tus 1.0.0 protocol's headers: what lfp announces, and parsing what clients send."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lfp.errors import BadRequest
from lfp.http.body import parse_count
from lfp.uploads.appends import BodyChecksum

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
