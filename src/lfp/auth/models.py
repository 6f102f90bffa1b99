"""The users table."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, IdMixin


class User(IdMixin, Base):
    """A person or program that owns uploads, files and jobs."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
