"""Access tokens name a user and a session; refresh tokens are random and stored hashed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest

from lfp.auth.tokens import (
    ALGORITHM,
    InvalidToken,
    issue_token,
    new_refresh_token,
    read_token,
    refresh_token_hash,
)
from lfp.db.base import utcnow

SECRET = "s" * 48


def test_a_token_names_its_user_and_session() -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    claims = read_token(issue_token(user, session, SECRET, 60), SECRET)
    assert (claims.user_id, claims.session_id) == (user, session)


def test_a_token_without_a_session_is_refused() -> None:
    old = jwt.encode(
        {"sub": str(uuid.uuid4()), "exp": utcnow() + timedelta(days=7)}, SECRET, ALGORITHM
    )
    with pytest.raises(InvalidToken, match="invalid"):
        read_token(old, SECRET)


def test_an_expired_token_says_so() -> None:
    claims = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "exp": utcnow() - timedelta(1)}
    with pytest.raises(InvalidToken, match="expired"):
        read_token(jwt.encode(claims, SECRET, ALGORITHM), SECRET)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = issue_token(uuid.uuid4(), uuid.uuid4(), "o" * 48, 60)
    with pytest.raises(InvalidToken):
        read_token(token, SECRET)


def test_refresh_tokens_are_random_and_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(refresh_token_hash(first)) == 64
    assert refresh_token_hash(first) == refresh_token_hash(first) != refresh_token_hash(second)
