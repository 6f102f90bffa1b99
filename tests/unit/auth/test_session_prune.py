"""Sessions and used refresh tokens are forgotten once they can no longer matter."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lfp.auth import sessions as sessions_module
from lfp.auth.models import AuthSession, RefreshToken, User
from lfp.auth.sessions import SessionPolicy, SessionService
from lfp.db.engine import Database
from lfp.errors import NotAuthenticated
from tests.unit.auth.clock import Clock

LIFETIME = 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sessions_module, "utcnow", fake)
    return fake


@pytest.fixture
def service(database: Database) -> SessionService:
    return SessionService(database, SessionPolicy("secret" * 8, 900, LIFETIME))


def _user(db: Database) -> User:
    with db.write() as session:
        user = User(email="prune@example.com", password_hash="x")
        session.add(user)
    return user


def _count(db: Database, model: type[AuthSession] | type[RefreshToken]) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_expired_sessions_go_with_their_tokens(
    database: Database, service: SessionService, clock: Clock
) -> None:
    user = _user(database)
    service.start(user.id)
    live = service.start(user.id)
    clock.advance(LIFETIME - 10)
    service.refresh(live.refresh_token)  # this session lives on
    clock.advance(20)

    assert service.prune() == 1  # the idle session, its one token with it
    assert (_count(database, AuthSession), _count(database, RefreshToken)) == (1, 2)


def test_used_refresh_tokens_are_kept_as_long_as_a_session_lasts(
    database: Database, service: SessionService, clock: Clock
) -> None:
    first = service.start(_user(database).id)
    clock.advance(10)
    second = service.refresh(first.refresh_token)
    clock.advance(LIFETIME - 20)
    third = service.refresh(second.refresh_token)
    assert service.prune() == 0  # both used tokens could still come back within a lifetime

    clock.advance(25)  # the first was used LIFETIME + 5 s ago, the second 25 s ago
    assert service.prune() == 1
    with pytest.raises(NotAuthenticated, match="not valid"):
        service.refresh(first.refresh_token)  # forgotten: merely not valid
    with pytest.raises(NotAuthenticated, match="already used"):
        service.refresh(second.refresh_token)  # still caught as a reuse
    with pytest.raises(NotAuthenticated, match="used twice"):
        service.refresh(third.refresh_token)
