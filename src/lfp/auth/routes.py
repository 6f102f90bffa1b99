"""HTTP routes of the auth API: signup, login, me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from lfp.auth.schemas import LoginRequest, SignupRequest, TokenResponse, UserOut
from lfp.auth.service import log_in
from lfp.auth.throttle import LoginThrottle, LoginThrottled, ThrottlePolicy
from lfp.auth.tokens import issue_token
from lfp.deps import AppServices, CurrentUser
from lfp.http.problems import HttpProblem

router = APIRouter(prefix="/auth", tags=["auth"])

_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many failed logins from this address (for this account, or at "
        "all); the `Retry-After` header says when to try again.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}


@router.post("/signup", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def signup(body: SignupRequest, services: AppServices) -> UserOut:
    """Create an account. 409 when the email is taken."""
    user = services.users.signup(body.email, body.password)
    return UserOut.model_validate(user)


@router.post("/login", response_model=TokenResponse, responses=_THROTTLED)
def login(body: LoginRequest, request: Request, services: AppServices) -> TokenResponse:
    """Exchange email and password for a bearer token. 429 after too many failures."""
    throttle = LoginThrottle(services.db, ThrottlePolicy.from_settings(services.settings))
    # The socket peer, or the client a trusted proxy names (uvicorn's proxy headers).
    address = request.client.host if request.client else ""
    try:
        user = log_in(services.users, throttle, body.email, body.password, address)
    except LoginThrottled as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise HttpProblem(429, exc.detail, extra=exc.extra, headers=headers) from None
    lifetime = services.settings.token_lifetime_seconds
    token = issue_token(user.id, services.jwt_secret, lifetime)
    return TokenResponse(access_token=token, expires_in=lifetime)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)
