"""The users table, their sign-in sessions and refresh tokens, and failed-login counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, IdMixin, utcnow


class User(IdMixin, Base):
    """A person or program that owns uploads, files and jobs."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # "user", or "admin": may manage every account through /admin/users.
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    # Set by an operator: the account cannot sign in, and its tokens are refused.
    disabled_at: Mapped[datetime | None]
    # An operator's limits for this account; None means the LFP_USER_* setting.
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    max_open_uploads: Mapped[int | None] = mapped_column(Integer)


class AuthSession(IdMixin, Base):
    """One sign-in: a chain of refresh tokens, each replacing the last, and their access tokens.

    Access tokens carry the session's id (`sid`), so revoking the row refuses them at once.
    The session expires `refresh_lifetime_seconds` after its last refresh (or login).
    """

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Why it was revoked: "logout", "reuse" (a used refresh token came back) or "password".
    revoked_reason: Mapped[str | None] = mapped_column(String(16))


class RefreshToken(Base):
    """One refresh token of a session, kept as its sha256 only; used at most once."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class LoginFailures(Base):
    """Recent failed logins of one throttled key (a client address, or an account from one).

    Kept in the database, so every API server sharing it counts the same failures. `key`
    is a digest of the scope, email and address: bounded in length, whatever was sent.
    """

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]
