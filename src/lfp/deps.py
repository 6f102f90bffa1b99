"""FastAPI dependencies shared by every domain's routes: the process's services and the caller."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lfp.auth.models import User
from lfp.auth.sessions import SessionPolicy, SessionService
from lfp.bootstrap import Services
from lfp.errors import Forbidden, NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login.")


def get_services(request: Request) -> Services:
    """The process's shared services."""
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(get_services)]


def current_session(
    services: AppServices,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, uuid.UUID]:
    """The signed-in caller and their session; 401 without a valid token of a live session.

    One primary-key read of the user and the session, so a revoked session (logout, a
    password change) refuses its access tokens from the next request on.
    """
    if credentials is None:
        raise NotAuthenticated("an Authorization: Bearer <token> header is required")
    policy = SessionPolicy.from_settings(services.settings, services.jwt_secret)
    return SessionService(services.db, policy).authenticate(credentials.credentials)


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
