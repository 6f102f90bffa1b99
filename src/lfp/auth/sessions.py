"""Sign-in sessions: short access tokens, rotating refresh tokens, and revoking them.

A login starts a session and hands out an access token (a JWT naming the session, `sid`)
and a refresh token (random; only its sha256 is stored). `refresh` uses a refresh token up
and returns a new pair; a refresh token that comes back after it was used means two
parties hold it, so the whole session is revoked (reuse detection). Checking an access
token reads its user and session in one query by primary keys, so a revoked session's
access tokens are refused from the next request on, on every server sharing the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lfp.auth.models import AuthSession, RefreshToken, User
from lfp.auth.tokens import (
    InvalidToken,
    csrf_token,
    issue_token,
    new_refresh_token,
    read_token,
    refresh_token_hash,
)
from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.errors import Forbidden, NotAuthenticated

_REVOKED = {
    "logout": "the session was signed out",
    "reuse": "the session was revoked because one of its refresh tokens was used twice",
    "password": "the session was revoked because the account's password changed",
    "disabled": "the session was revoked because an operator disabled the account",
}
SIGN_IN_AGAIN = "; sign in again"


def check_enabled(user: User) -> None:
    """`Forbidden` when an operator has disabled `user`'s account."""
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled; an operator can enable it again")


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh hands out."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True)
class BrowserLogin:
    """What a login from the web pages hands out: the cookie's token and the CSRF token."""

    token: str
    csrf_token: str
    max_age: int


@dataclass(frozen=True)
class SessionPolicy:
    """The key that signs access tokens and how long tokens and sessions live."""

    secret: str
    access_lifetime_seconds: int
    refresh_lifetime_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> SessionPolicy:
        """The policy of `LFP_TOKEN_LIFETIME_SECONDS` and `LFP_REFRESH_LIFETIME_SECONDS`."""
        return cls(secret, settings.token_lifetime_seconds, settings.refresh_lifetime_seconds)


class SessionService:
    """Starts, refreshes, revokes and checks sign-in sessions."""

    def __init__(self, db: Database, policy: SessionPolicy) -> None:
        self.db = db
        self._policy = policy

    def start(self, user_id: uuid.UUID) -> TokenPair:
        """A new session for `user_id` (a login), and its first tokens."""
        with self.db.write() as session:
            return self.start_in(session, user_id)

    def start_in(self, session: Session, user_id: uuid.UUID) -> TokenPair:
        """`start` inside the caller's unit of work."""
        row = self._new_session(session, user_id)
        session.flush()
        return self._pair(session, row)

    def _new_session(self, session: Session, user_id: uuid.UUID) -> AuthSession:
        """A session row for `user_id` starting now, added to `session`."""
        now = utcnow()
        row = AuthSession(
            id=uuid.uuid4(),
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self._policy.refresh_lifetime_seconds),
        )
        session.add(row)
        return row

    def start_browser(self, user_id: uuid.UUID) -> BrowserLogin:
        """A new session for the web pages: one token, for a cookie, lasting the session.

        Checked against its session on every request like an access token, so logout, a
        password change or a disabled account end it at once; it needs no refresh.
        """
        with self.db.write() as session:
            row = self._new_session(session, user_id)
        lifetime = self._policy.refresh_lifetime_seconds
        secret = self._policy.secret
        token = issue_token(user_id, row.id, secret, lifetime, kind="browser")
        return BrowserLogin(token, csrf_token(row.id, secret), lifetime)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Use `refresh_token` up and return a new pair for its session.

        `NotAuthenticated` when the token is unknown, its session is revoked or expired,
        or it was used before (which revokes its session: reuse detection).
        """
        digest = refresh_token_hash(refresh_token)
        with self.db.write() as session:
            token = session.get(RefreshToken, digest)
            row = session.get(AuthSession, token.session_id) if token else None
            user = session.get(User, row.user_id) if row else None
            if token is None or row is None or user is None:
                raise NotAuthenticated("the refresh token is not valid" + SIGN_IN_AGAIN)
            check_enabled(user)
            _check_usable(row)
            # Conditional, so of two refreshes racing with one token exactly one wins.
            used = session.execute(
                update(RefreshToken)
                .where(RefreshToken.token_hash == digest, RefreshToken.used_at.is_(None))
                .values(used_at=utcnow())
            )
            if used.rowcount == 1:  # type: ignore[attr-defined]
                row.last_used_at = utcnow()
                lifetime = timedelta(seconds=self._policy.refresh_lifetime_seconds)
                row.expires_at = row.last_used_at + lifetime
                return self._pair(session, row)
            _revoke(row, "reuse")  # committed as the block ends; refused after that
        raise NotAuthenticated(
            "the refresh token was already used, so its session is revoked" + SIGN_IN_AGAIN
        )

    def revoke(self, session_id: uuid.UUID, reason: str) -> None:
        """Revoke one session: its refresh and access tokens stop working."""
        with self.db.write() as session:
            row = session.get(AuthSession, session_id)
            if row is not None and row.revoked_at is None:
                _revoke(row, reason)

    @staticmethod
    def revoke_all_in(session: Session, user_id: uuid.UUID, reason: str) -> None:
        """Revoke every live session of `user_id`, inside the caller's unit of work."""
        session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    def prune(self) -> int:
        """Delete expired sessions (with their refresh tokens) and refresh tokens used longer
        ago than a session may last; how many it deleted (a deleted session's tokens go
        with it, uncounted).

        A session past its expiry refuses every token anyway, revoked or not; a used
        refresh token is kept as long as a session could last so that its reuse is still
        caught, and then forgotten (an older one is merely not valid).
        """
        now = utcnow()
        used_before = now - timedelta(seconds=self._policy.refresh_lifetime_seconds)
        with self.db.write() as session:
            tokens = session.execute(delete(RefreshToken).where(RefreshToken.used_at < used_before))
            sessions = session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
        return sum(int(getattr(result, "rowcount", 0) or 0) for result in (tokens, sessions))

    def authenticate(self, access_token: str, kind: str = "api") -> tuple[User, uuid.UUID]:
        """The user a valid access token of `kind` of a live session names, and that
        session's id.

        `Forbidden` when the account is disabled, whatever the token.
        """
        try:
            claims = read_token(access_token, self._policy.secret, kind)
        except InvalidToken as exc:
            raise NotAuthenticated(f"{exc}{SIGN_IN_AGAIN} or refresh it") from None
        with self.db.read() as session:
            found = session.execute(
                select(User, AuthSession)
                .join(AuthSession, AuthSession.user_id == User.id)
                .where(User.id == claims.user_id, AuthSession.id == claims.session_id)
            ).one_or_none()
        if found is None:
            raise NotAuthenticated("the access token's user or session no longer exists")
        user, row = found.tuple()
        check_enabled(user)
        _check_usable(row)
        return user, row.id

    def _pair(self, session: Session, row: AuthSession) -> TokenPair:
        """A new access token and a new (stored) refresh token for session `row`."""
        refresh = new_refresh_token()
        session.add(RefreshToken(token_hash=refresh_token_hash(refresh), session_id=row.id))
        policy = self._policy
        access = issue_token(row.user_id, row.id, policy.secret, policy.access_lifetime_seconds)
        return TokenPair(
            access_token=access,
            expires_in=policy.access_lifetime_seconds,
            refresh_token=refresh,
            refresh_expires_in=policy.refresh_lifetime_seconds,
        )


def _check_usable(row: AuthSession) -> None:
    """`NotAuthenticated`, saying why, unless session `row` is live."""
    if row.revoked_at is not None:
        reason = _REVOKED.get(row.revoked_reason or "", "the session was revoked")
        raise NotAuthenticated(reason + SIGN_IN_AGAIN)
    if row.expires_at <= utcnow():
        raise NotAuthenticated("the session has expired" + SIGN_IN_AGAIN)


def _revoke(row: AuthSession, reason: str) -> None:
    """Mark session `row` revoked now, for `reason` (a key of `_REVOKED`)."""
    row.revoked_at = utcnow()
    row.revoked_reason = reason
