"""Accounts: sign up, check credentials, change passwords, look users up."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lfp.auth.models import User
from lfp.auth.passwords import hash_password, verify_password
from lfp.auth.sessions import SessionService, TokenPair, check_enabled
from lfp.auth.throttle import LoginThrottle
from lfp.db.engine import Database
from lfp.errors import Conflict, Forbidden, NotAuthenticated


class UserService:
    """Creates users and checks their credentials."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def signup(self, email: str, password: str, *, role: str = "user") -> User:
        """Create a user; `Conflict` when the email is taken (emails compare case-blind)."""
        user = User(email=email.strip().lower(), password_hash=hash_password(password), role=role)
        try:
            with self._db.write() as session:
                if session.scalar(select(User.id).where(User.email == user.email)):
                    raise Conflict(f"an account for {user.email} already exists")
                session.add(user)
        except IntegrityError as exc:  # a concurrent signup with the same email won
            raise Conflict(f"an account for {user.email} already exists") from exc
        return user

    def authenticate(self, email: str, password: str) -> User | None:
        """The user whose credentials these are, or None (unknown email or wrong password)."""
        user = None
        # The API refuses an email with a NUL (422); another caller's is simply unknown,
        # checked with the same work as any other (PostgreSQL refuses NUL in a query).
        if "\x00" not in email:
            with self._db.read() as session:
                user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if not verify_password(user.password_hash if user else None, password):
            return None
        return user

    def get(self, user_id: uuid.UUID) -> User | None:
        """The user with this id, if any."""
        with self._db.read() as session:
            return session.get(User, user_id)


def log_in(
    users: UserService, throttle: LoginThrottle, email: str, password: str, address: str
) -> User:
    """The user these credentials are for, sent from client `address`.

    Raises `LoginThrottled` without checking the password when a limit is reached,
    `NotAuthenticated` (counted as a failure) when the email or password is wrong, and
    `Forbidden` for the right password of a disabled account.
    """
    attempt = throttle.begin(email, address)
    user = users.authenticate(email, password)
    if user is None:
        raise NotAuthenticated("email or password is wrong")
    throttle.succeeded(attempt)
    check_enabled(user)
    return user


def change_password(
    sessions: SessionService,
    throttle: LoginThrottle,
    user: User,
    passwords: tuple[str, str],
    address: str,
) -> TokenPair:
    """Replace `user`'s password, given `(current, new)`, sent from client `address`.

    Revokes every session of the user (this one included) and starts a new one, whose
    tokens are returned. The current password is checked like a login's (same throttle:
    `LoginThrottled`), and a wrong one is `Forbidden` rather than 401, which would tell a
    client to refresh its token.
    """
    current, new = passwords
    attempt = throttle.begin(user.email, address)
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong")
    throttle.succeeded(attempt)
    new_hash = hash_password(new)  # before the transaction: argon2 takes a while
    with sessions.db.write() as session:
        stored = session.get(User, user.id)
        if stored is None:
            raise NotAuthenticated("the account no longer exists")
        stored.password_hash = new_hash
        sessions.revoke_all_in(session, user.id, "password")
        return sessions.start_in(session, user.id)
