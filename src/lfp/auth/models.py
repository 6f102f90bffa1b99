"""The users table, and the failed-login counters that throttle guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, IdMixin


class User(IdMixin, Base):
    """A person or program that owns uploads, files and jobs."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


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
