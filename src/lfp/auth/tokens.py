"""Signed access tokens (JWT, HS256) naming a user and session; opaque refresh tokens.

An access token is of one kind: `api` (sent as `Authorization: Bearer`) or `browser` (the
web pages' HttpOnly cookie); each is refused where the other belongs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from lfp.db.base import utcnow

ALGORITHM = "HS256"
REFRESH_PREFIX = "lfp_rt_"  # lets secret scanners recognise a leaked refresh token


_WRONG_KIND = {
    "api": "the token is a browser session's cookie; send one from POST /auth/login",
    "browser": "the session cookie is invalid",
}


class InvalidToken(Exception):
    """The token is malformed, expired or not signed by this service."""


@dataclass(frozen=True)
class AccessClaims:
    """Who an access token was issued to, and in which session."""

    user_id: uuid.UUID
    session_id: uuid.UUID


def issue_token(
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    secret: str,
    lifetime_seconds: int,
    kind: str = "api",
) -> str:
    """A token proving, until it expires or its session is revoked, who its bearer is."""
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "typ": kind,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime_seconds),
        "jti": uuid.uuid4().hex,  # two tokens issued in one second still differ
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str, kind: str = "api") -> AccessClaims:
    """The user and session a valid, unexpired token of `kind` was issued for.

    Tokens from before sessions existed carry no `sid` and are refused: nothing could
    revoke them. Those from before kinds existed are `api` tokens.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]}
        )
        if claims.get("typ", "api") != kind:
            raise InvalidToken(_WRONG_KIND[kind])
        return AccessClaims(uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims["sid"])))
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the access token has expired") from exc
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidToken("the access token is invalid") from exc


def new_refresh_token() -> str:
    """A fresh refresh token: 256 random bits, so a plain digest is safe to store."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    """The sha256 (hex) the server keeps instead of the refresh token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(session_id: uuid.UUID, secret: str) -> str:
    """The token a browser session's pages send in `X-CSRF-Token` with every change.

    Derived from the session, so nothing more is stored; another site's page cannot read it.
    """
    return hmac.new(secret.encode(), b"csrf:" + session_id.bytes, hashlib.sha256).hexdigest()


def csrf_matches(session_id: uuid.UUID, secret: str, given: str | None) -> bool:
    """Whether `given` is the session's CSRF token (compared in constant time)."""
    return given is not None and hmac.compare_digest(csrf_token(session_id, secret), given)
