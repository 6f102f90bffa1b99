"""Request and response bodies of the auth API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from lfp.auth.passwords import password_problem
from lfp.text import NUL


def strong_password(value: str) -> str:
    """`value`, if it is a strong enough password; else ValueError saying why not."""
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class SignupRequest(BaseModel):
    """A new account's email and password."""

    email: EmailStr
    password: str = Field(max_length=1024)

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        return strong_password(value)


class LoginRequest(BaseModel):
    """Credentials to exchange for an access token."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)

    @field_validator("email")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # No account's email holds one (signup refuses it), and PostgreSQL refuses it in text.
        if NUL in value:
            raise ValueError("email must not contain a NUL character")
        return value


class TokenResponse(BaseModel):
    """A bearer token and how many seconds it stays valid, and the refresh token for more."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class BrowserSessionOut(BaseModel):
    """Who signed in on the web pages, and the CSRF token they send with every change."""

    email: str
    csrf_token: str
    expires_in: int


class RefreshRequest(BaseModel):
    """A refresh token to use up for a new pair of tokens."""

    refresh_token: str = Field(max_length=200)


class PasswordChange(BaseModel):
    """The account's current password and the one to replace it with."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)

    @field_validator("new_password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        return strong_password(value)


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    created_at: datetime
