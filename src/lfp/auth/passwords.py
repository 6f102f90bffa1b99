"""Password policy and argon2 hashing."""

from __future__ import annotations

import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def password_problem(password: str) -> str | None:
    """Why `password` is too weak, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
    classes = {_character_class(c) for c in password}
    if len(classes) < 2:
        return (
            "password must mix at least two kinds of characters "
            "(lower case, upper case, digits, others)"
        )
    return None


def _character_class(c: str) -> str:
    if c in string.ascii_lowercase or (c.isalpha() and c.islower()):
        return "lower"
    if c.isalpha() and c.isupper():
        return "upper"
    if c.isdigit():
        return "digit"
    return "other"


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; None (no such user) never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
