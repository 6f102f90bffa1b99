"""Signed access tokens (JWT, HS256) naming a user and session; opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from lfp.db.base import utcnow

ALGORITHM = "HS256"
REFRESH_PREFIX = "lfp_rt_"  # lets secret scanners recognise a leaked refresh token


class InvalidToken(Exception):
    """The token is malformed, expired or not signed by this service."""


@dataclass(frozen=True)
class AccessClaims:
    """Who an access token was issued to, and in which session."""

    user_id: uuid.UUID
    session_id: uuid.UUID


def issue_token(
    user_id: uuid.UUID, session_id: uuid.UUID, secret: str, lifetime_seconds: int
) -> str:
    """A token proving, until it expires or its session is revoked, who its bearer is."""
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": now,
        "exp": now + timedelta(seconds=lifetime_seconds),
        "jti": uuid.uuid4().hex,  # two tokens issued in one second still differ
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> AccessClaims:
    """The user and session a valid, unexpired token was issued for.

    Tokens from before sessions existed carry no `sid` and are refused: nothing could
    revoke them.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]}
        )
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
