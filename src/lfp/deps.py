"""FastAPI dependencies shared by every domain's routes: the process's services and the caller."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lfp.auth.models import User
from lfp.auth.tokens import csrf_matches
from lfp.bootstrap import Services
from lfp.errors import Forbidden, NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login.")
# The web pages' session: an HttpOnly cookie, and the CSRF token their changes send back.
SESSION_COOKIE = "lfp_session"
CSRF_COOKIE = "lfp_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_services(request: Request) -> Services:
    """The process's shared services."""
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(get_services)]


def current_session(
    request: Request,
    services: AppServices,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, uuid.UUID]:
    """The signed-in caller and their session; 401 without a valid token of a live session.

    The token is the `Authorization: Bearer` header's or, without one, the web pages'
    session cookie; a change (any method but GET, HEAD, OPTIONS) made with the cookie must
    also carry the session's CSRF token in `X-CSRF-Token` (403 otherwise). One primary-key
    read of the user and the session, so a revoked session (logout, a password change)
    refuses its tokens from the next request on.
    """
    sessions = services.sessions
    if credentials is not None:
        return sessions.authenticate(credentials.credentials)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise NotAuthenticated(
            "an Authorization: Bearer <token> header is required (or, in a browser, "
            "signing in on the web pages)"
        )
    signed_in = sessions.authenticate(cookie, kind="browser")
    if request.method not in _SAFE_METHODS and not csrf_matches(
        signed_in[1], services.jwt_secret, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(
            f"a change made with the session cookie needs the {CSRF_HEADER} header holding "
            f"the session's CSRF token (the {CSRF_COOKIE} cookie); reload the page"
        )
    return signed_in


def current_user(signed_in: Annotated[tuple[User, uuid.UUID], Depends(current_session)]) -> User:
    """The signed-in caller; 401 without a valid, unexpired token of a live session."""
    return signed_in[0]


CurrentUser = Annotated[User, Depends(current_user)]
CurrentSession = Annotated[tuple[User, uuid.UUID], Depends(current_session)]


def current_admin(user: CurrentUser) -> User:
    """The signed-in caller, who must be an administrator (403 otherwise)."""
    if user.role != "admin":
        raise Forbidden(
            "this needs an administrator's account; an operator can make one with "
            "`lfp users set-role EMAIL admin`"
        )
    return user


CurrentAdmin = Annotated[User, Depends(current_admin)]
