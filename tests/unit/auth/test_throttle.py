"""Login throttling on a real database (SQLite and PostgreSQL), on a clock the test moves.

Limits per account-and-address and per address, the doubling backoff and its cap, failures
forgotten after the window, a success that forgets the account's failures, and the argon2
work: exactly one verification for an unknown user and for a wrong password (with the same
parameters), none at all for an attempt over a limit.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher, extract_parameters

from lfp.auth import passwords, throttle
from lfp.auth.models import LoginFailures
from lfp.auth.service import UserService, log_in
from lfp.auth.throttle import LoginThrottle, LoginThrottled, ThrottlePolicy
from lfp.db.engine import Database
from lfp.errors import NotAuthenticated
from tests.helpers import PASSWORD
from tests.unit.auth.clock import Clock

POLICY = ThrottlePolicy(
    account_failures=3,
    address_failures=5,
    backoff_seconds=60,
    backoff_max_seconds=200,
    window_seconds=3600,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "utcnow", fake)
    return fake


@pytest.fixture
def gate(database: Database, clock: Clock) -> LoginThrottle:
    return LoginThrottle(database, POLICY)


def fail(gate: LoginThrottle, email: str, address: str, times: int = 1) -> None:
    """Attempts that pass the throttle and then turn out wrong."""
    for _ in range(times):
        gate.begin(email, address)


def refused(gate: LoginThrottle, email: str, address: str) -> LoginThrottled:
    with pytest.raises(LoginThrottled) as caught:
        gate.begin(email, address)
    return caught.value


def test_an_account_waits_after_its_limit_but_only_from_that_address(
    gate: LoginThrottle,
) -> None:
    fail(gate, "me@example.com", "10.0.0.1", times=3)
    error = refused(gate, "ME@example.com ", "10.0.0.1")  # the same account, written otherwise
    assert error.retry_after == 60
    assert "for this account from your address" in error.detail and "60 s" in error.detail
    gate.begin("me@example.com", "10.0.0.2")  # the real user elsewhere is not held up
    gate.begin("other@example.com", "10.0.0.1")


def test_an_address_waits_after_its_limit_whatever_the_accounts(gate: LoginThrottle) -> None:
    for n in range(5):
        fail(gate, f"user{n}@example.com", "10.0.0.9")
    error = refused(gate, "fresh@example.com", "10.0.0.9")
    assert "from your address" in error.detail and "account" not in error.detail
    gate.begin("fresh@example.com", "10.0.0.10")


def test_the_wait_doubles_with_each_further_failure_up_to_the_cap(
    gate: LoginThrottle, clock: Clock
) -> None:
    fail(gate, "me@example.com", "10.0.0.1", times=3)
    waits = []
    for _ in range(4):
        error = refused(gate, "me@example.com", "10.0.0.1")
        waits.append(error.retry_after)
        clock.advance(error.retry_after)
        fail(gate, "me@example.com", "10.0.0.1")
    assert waits == [60, 120, 200, 200]


def test_refused_attempts_do_not_lengthen_the_wait(gate: LoginThrottle, clock: Clock) -> None:
    fail(gate, "me@example.com", "10.0.0.1", times=3)
    for _ in range(10):
        refused(gate, "me@example.com", "10.0.0.1")
    clock.advance(59)
    assert refused(gate, "me@example.com", "10.0.0.1").retry_after == 1
    clock.advance(1)
    gate.begin("me@example.com", "10.0.0.1")


def test_failures_are_forgotten_after_the_window(gate: LoginThrottle, clock: Clock) -> None:
    fail(gate, "me@example.com", "10.0.0.1", times=2)
    clock.advance(3600)
    fail(gate, "me@example.com", "10.0.0.1", times=3)  # counted from zero again: allowed
    assert refused(gate, "me@example.com", "10.0.0.1").retry_after == 60


def test_a_success_forgets_the_accounts_failures_and_takes_its_own_back(
    gate: LoginThrottle, database: Database
) -> None:
    fail(gate, "me@example.com", "10.0.0.1", times=2)
    gate.succeeded(gate.begin("me@example.com", "10.0.0.1"))
    fail(gate, "me@example.com", "10.0.0.1", times=2)
    gate.begin("me@example.com", "10.0.0.1")  # the third since the success: still allowed
    with database.read() as session:
        address = session.get(LoginFailures, throttle.throttle_key("address", "10.0.0.1"))
        assert address is not None
        assert address.failures == 6 - 1  # six attempts, the success's taken back


def test_forgotten_counters_are_pruned_and_waiting_ones_kept(
    gate: LoginThrottle, clock: Clock, database: Database
) -> None:
    fail(gate, "old@example.com", "10.0.0.1")
    fail(gate, "me@example.com", "10.0.0.2", times=3)
    clock.advance(3599)
    assert gate.prune() == 0
    clock.advance(1)
    assert gate.prune() == 4  # both accounts' and both addresses' (me@'s wait is over too)
    fail(gate, "me@example.com", "10.0.0.3", times=3)
    with database.write() as session:  # a wait that outlasts the window (a long backoff)
        for row in session.query(LoginFailures):
            row.blocked_until = clock.now + timedelta(hours=5)
    clock.advance(3600)
    assert gate.prune() == 0
    assert refused(gate, "me@example.com", "10.0.0.3").retry_after == 4 * 3600


class CountingHasher(PasswordHasher):
    """An argon2 hasher that records the parameters of every hash it verifies against."""

    def __init__(self) -> None:
        super().__init__()
        self.verified: list[Any] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


def test_unknown_user_and_wrong_password_do_the_same_argon2_work(
    database: Database, gate: LoginThrottle, hasher: CountingHasher
) -> None:
    users = UserService(database)
    email = f"{uuid.uuid4().hex}@example.com"
    real = users.signup(email, PASSWORD)
    for who in (email, "nobody@example.com"):
        with pytest.raises(NotAuthenticated) as caught:
            log_in(users, gate, who, PASSWORD + "x", f"10.1.0.{len(hasher.verified)}")
        assert caught.value.detail == "email or password is wrong"
    wrong_password, unknown_user = hasher.verified
    assert unknown_user == wrong_password == extract_parameters(real.password_hash)


def test_an_attempt_over_a_limit_does_no_argon2_work(
    database: Database, gate: LoginThrottle, hasher: CountingHasher
) -> None:
    users = UserService(database)
    email = f"{uuid.uuid4().hex}@example.com"
    users.signup(email, PASSWORD)
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            log_in(users, gate, email, "wrong", "10.2.0.1")
    assert len(hasher.verified) == 3
    with pytest.raises(LoginThrottled):
        log_in(users, gate, email, PASSWORD, "10.2.0.1")  # even the right password
    assert len(hasher.verified) == 3
    assert log_in(users, gate, email, PASSWORD, "10.2.0.2").email == email
