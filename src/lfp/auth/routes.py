"""HTTP routes of the auth API: signup, login, me."""

from __future__ import annotations

from fastapi import APIRouter, status

from lfp.auth.schemas import LoginRequest, SignupRequest, TokenResponse, UserOut
from lfp.auth.tokens import issue_token
from lfp.deps import AppServices, CurrentUser
from lfp.errors import NotAuthenticated

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/signup", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def signup(body: SignupRequest, services: AppServices) -> UserOut:
    """Create an account. 409 when the email is taken."""
    user = services.users.signup(body.email, body.password)
    return UserOut.model_validate(user)


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, services: AppServices) -> TokenResponse:
    """Exchange email and password for a bearer token."""
    user = services.users.authenticate(body.email, body.password)
    if user is None:
        raise NotAuthenticated("email or password is wrong")
    lifetime = services.settings.token_lifetime_seconds
    token = issue_token(user.id, services.jwt_secret, lifetime)
    return TokenResponse(access_token=token, expires_in=lifetime)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)
