"""Request and response bodies of the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field, field_validator

from lfp.admin.service import Account
from lfp.auth.schemas import strong_password

Role = Literal["user", "admin"]


class AccountOut(BaseModel):
    """An account as an operator sees it: who, what they hold, what they may hold."""

    id: uuid.UUID
    email: str
    role: Role
    disabled: bool
    disabled_at: datetime | None
    created_at: datetime
    files: int = Field(description="How many files the account holds.")
    stored_bytes: int = Field(description="Bytes in the account's files.")
    reserved_bytes: int = Field(description="Bytes the account's open uploads reserve.")
    used_bytes: int = Field(description="stored_bytes + reserved_bytes: what the quota counts.")
    open_uploads: int
    quota_bytes: int = Field(description="The quota in force; 0 means unlimited.")
    quota_is_default: bool = Field(description="True when it is LFP_USER_QUOTA_BYTES.")
    max_open_uploads: int = Field(description="The open-upload cap in force; 0: unlimited.")
    max_open_uploads_is_default: bool = Field(
        description="True when it is LFP_USER_MAX_OPEN_UPLOADS."
    )

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        """The body for `account`."""
        user, held, limits = account.user, account.usage, account.limits
        return cls(
            id=user.id,
            email=user.email,
            role="admin" if user.role == "admin" else "user",
            disabled=user.disabled_at is not None,
            disabled_at=user.disabled_at,
            created_at=user.created_at,
            files=account.files,
            stored_bytes=held.stored,
            reserved_bytes=held.reserved,
            used_bytes=held.used,
            open_uploads=held.open_uploads,
            quota_bytes=limits.quota_bytes,
            quota_is_default=user.quota_bytes is None,
            max_open_uploads=limits.max_open_uploads,
            max_open_uploads_is_default=user.max_open_uploads is None,
        )


class AccountCreate(BaseModel):
    """A new account's email, password and role."""

    email: EmailStr
    password: str = Field(max_length=1024)
    role: Role = "user"

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        return strong_password(value)


class AccountChange(BaseModel):
    """What to change of an account; fields left out stay as they are.

    `quota_bytes` and `max_open_uploads` set to `null` go back to the server's defaults
    (LFP_USER_QUOTA_BYTES, LFP_USER_MAX_OPEN_UPLOADS); 0 means unlimited.
    """

    disabled: bool | None = Field(
        default=None, description="true ends the account's sessions and refuses its tokens."
    )
    role: Role | None = None
    quota_bytes: int | None = Field(default=None, ge=0, le=2**63 - 1)
    max_open_uploads: int | None = Field(default=None, ge=0, le=2**31 - 1)
