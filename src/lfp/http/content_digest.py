"""Parsing of the RFC 9530 `Content-Digest` header (the sha-256 member)."""

from __future__ import annotations

import base64
import binascii
import re

# RFC 8941 dictionary member whose value is a byte sequence: key=:base64:
_MEMBER = re.compile(r"^\s*([a-z*][a-z0-9_\-.*]*)\s*=\s*:([A-Za-z0-9+/=]*):\s*$")


class MalformedDigest(ValueError):
    """The header is not a valid Content-Digest field."""


def parse_sha256(header: str) -> bytes | None:
    """The sha-256 digest a `Content-Digest` header declares, or None if it declares none.

    Other algorithms in the header are allowed and ignored (RFC 9530 lets a recipient
    verify any one it supports).
    """
    found: bytes | None = None
    for member in header.split(","):
        match = _MEMBER.match(member)
        if not match:
            raise MalformedDigest(f"cannot parse Content-Digest member {member.strip()!r}")
        algorithm, encoded = match.groups()
        try:
            value = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise MalformedDigest(f"{algorithm} value is not valid base64") from exc
        if algorithm == "sha-256":
            if len(value) != 32:
                raise MalformedDigest(f"a sha-256 digest has 32 bytes, not {len(value)}")
            found = value
    return found


def format_sha256(digest: bytes) -> str:
    """A `Content-Digest` header value carrying one sha-256 digest."""
    return f"sha-256=:{base64.b64encode(digest).decode()}:"
