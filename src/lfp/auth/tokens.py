"""Signed access tokens (JWT, HS256) naming the user they were issued to."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from lfp.db.base import utcnow

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is malformed, expired or not signed by this service."""


def issue_token(user_id: uuid.UUID, secret: str, lifetime_seconds: int) -> str:
    """A token that proves, until it expires, that its bearer signed in as `user_id`."""
    now = utcnow()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(seconds=lifetime_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> uuid.UUID:
    """The user id a valid token was issued to."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp"]})
        return uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
