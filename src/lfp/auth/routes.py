"""HTTP routes of the auth API: signup, login, refresh, logout, password, me, and the web
pages' cookie sessions.

`POST /auth/browser-session` checks the credentials like `POST /auth/login` (same
throttle) and sets two cookies: `lfp_session`, HttpOnly, the session's token, and
`lfp_csrf`, readable by the pages, the token their changes send back in `X-CSRF-Token`.
Both are `SameSite=Lax`, and `Secure` when the request came over https.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from lfp.auth.schemas import (
    BrowserSessionOut,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignupRequest,
    TokenResponse,
    UserOut,
)
from lfp.auth.service import change_password, log_in
from lfp.auth.sessions import TokenPair
from lfp.auth.throttle import LoginThrottle, LoginThrottled, ThrottlePolicy
from lfp.deps import CSRF_COOKIE, SESSION_COOKIE, AppServices, CurrentSession, CurrentUser
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
    """Exchange email and password for an access and a refresh token (a new session).

    429 after too many failures.
    """
    try:
        user = log_in(
            services.users, _throttle(services), body.email, body.password, _peer(request)
        )
    except LoginThrottled as exc:
        raise _throttled(exc) from None
    return _tokens(services.sessions.start(user.id))


@router.post("/refresh", response_model=TokenResponse)
def refresh(body: RefreshRequest, services: AppServices) -> TokenResponse:
    """Use a refresh token up for a new pair. 401 when it is not valid, expired or revoked.

    A refresh token used a second time revokes its whole session.
    """
    return _tokens(services.sessions.refresh(body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(services: AppServices, signed_in: CurrentSession) -> Response:
    """End the access token's session: its access and refresh tokens stop working at once."""
    services.sessions.revoke(signed_in[1], "logout")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", response_model=TokenResponse, responses=_THROTTLED)
def password(
    body: PasswordChange, request: Request, services: AppServices, user: CurrentUser
) -> TokenResponse:
    """Change the password: every session of the account is revoked; a new one is returned.

    403 when the current password is wrong; 429 after too many wrong ones.
    """
    passwords = (body.current_password, body.new_password)
    try:
        pair = change_password(
            services.sessions, _throttle(services), user, passwords, _peer(request)
        )
    except LoginThrottled as exc:
        raise _throttled(exc) from None
    return _tokens(pair)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)


@router.post("/browser-session", response_model=BrowserSessionOut, responses=_THROTTLED)
def browser_sign_in(
    body: LoginRequest, request: Request, response: Response, services: AppServices
) -> BrowserSessionOut:
    """Sign in from the web pages: sets the session cookies. 401, 403 and 429 as login."""
    try:
        user = log_in(
            services.users, _throttle(services), body.email, body.password, _peer(request)
        )
    except LoginThrottled as exc:
        raise _throttled(exc) from None
    started = services.sessions.start_browser(user.id)
    for name, value, http_only in (
        (SESSION_COOKIE, started.token, True),
        (CSRF_COOKIE, started.csrf_token, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=started.max_age,
            path="/",
            secure=request.url.scheme == "https",
            httponly=http_only,
            samesite="lax",
        )
    return BrowserSessionOut(
        email=user.email, csrf_token=started.csrf_token, expires_in=started.max_age
    )


@router.delete("/browser-session", status_code=status.HTTP_204_NO_CONTENT)
def browser_sign_out(signed_in: CurrentSession, services: AppServices) -> Response:
    """Sign out of the web pages: the session ends, wherever it is held, its cookies go."""
    services.sessions.revoke(signed_in[1], "logout")
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="lax")
    return response


def _throttle(services: AppServices) -> LoginThrottle:
    """The login throttle of the `LFP_LOGIN_*` settings."""
    return LoginThrottle(services.db, ThrottlePolicy.from_settings(services.settings))


def _peer(request: Request) -> str:
    """The socket peer, or the client a trusted proxy names (uvicorn's proxy headers)."""
    return request.client.host if request.client else ""


def _throttled(exc: LoginThrottled) -> HttpProblem:
    """The 429 problem, with `Retry-After`, for a throttled attempt."""
    headers = {"Retry-After": str(exc.retry_after)}
    return HttpProblem(429, exc.detail, extra=exc.extra, headers=headers)


def _tokens(pair: TokenPair) -> TokenResponse:
    """A token pair as the API answers it."""
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )
