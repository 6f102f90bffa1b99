"""RFC 9530 Content-Digest parsing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfp.http.content_digest import MalformedDigest, format_sha256, parse_sha256


@given(st.binary(max_size=256))
def test_formatted_digest_parses_back(data: bytes) -> None:
    digest = hashlib.sha256(data).digest()
    assert parse_sha256(format_sha256(digest)) == digest


def test_sha256_is_found_among_other_algorithms() -> None:
    digest = hashlib.sha256(b"x").digest()
    header = f"sha-512=:{'A' * 88}:, {format_sha256(digest)}"
    assert parse_sha256(header) == digest


def test_header_without_sha256_declares_nothing() -> None:
    assert parse_sha256("md5=:AAAAAAAAAAAAAAAAAAAAAA==:") is None


@pytest.mark.parametrize(
    "header",
    ["sha-256=abc", "sha-256=:not base64!:", "sha-256=:AAAA:", "garbage", "sha-256=:" + "A" * 44],
)
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(MalformedDigest):
        parse_sha256(header)
