"""FastAPI dependencies shared by every domain's routes: the process's services and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lfp.auth.models import User
from lfp.auth.tokens import InvalidToken, read_token
from lfp.bootstrap import Services
from lfp.errors import NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login.")


def get_services(request: Request) -> Services:
    """The process's shared services."""
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(get_services)]


def current_user(
    services: AppServices,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The signed-in caller; 401 without a valid, unexpired bearer token of a known user."""
    if credentials is None:
        raise NotAuthenticated("an Authorization: Bearer <token> header is required")
    try:
        user_id = read_token(credentials.credentials, services.jwt_secret)
    except InvalidToken:
        raise NotAuthenticated("the access token is invalid or expired") from None
    user = services.users.get(user_id)
    if user is None:
        raise NotAuthenticated("the access token's user no longer exists")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
