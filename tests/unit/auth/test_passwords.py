"""Password policy and hashing."""

from __future__ import annotations

import pytest

from lfp.auth.passwords import hash_password, password_problem, verify_password


@pytest.mark.parametrize("password", ["short1A", "aaaaaaaaaaaa", "123456789012", "ABCDEFGHIJKL"])
def test_weak_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", ["correct horse", "Password123", "éléphant42x"])
def test_long_mixed_passwords_are_accepted(password: str) -> None:
    assert password_problem(password) is None


def test_hash_verifies_only_its_own_password() -> None:
    hashed = hash_password("Password123")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Password123")
    assert not verify_password(hashed, "Password124")


def test_unknown_user_never_verifies() -> None:
    assert not verify_password(None, "Password123")
