"""Login throttling: failed logins counted in the database, per client address and per
account from that address, with an exponential backoff once a limit is reached.

An attempt is counted as a failure *before* its password is checked (`LoginThrottle.begin`),
in one transaction with the check of the limits: a burst of parallel guesses cannot slip
past a limit while the first ones are still hashing, and a request over a limit costs one
small transaction, never argon2 work. A success takes its count back (`succeeded`).
See docs/security.md for the design and its trade-offs.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lfp.auth.models import LoginFailures
from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.errors import LfpError

ADDRESS = "address"
ACCOUNT = "account"


class LoginThrottled(LfpError):
    """Too many failed logins: no password is checked until `retry_after` seconds pass.

    `retry_after` is in whole seconds, at least one; the detail ends with it.
    """

    def __init__(self, scope: str, *, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        whose = "for this account from your address" if scope == ACCOUNT else "from your address"
        super().__init__(
            f"too many failed logins {whose}; try again in {self.retry_after} s",
            extra={"retry_after": self.retry_after},
        )


@dataclass(frozen=True)
class ThrottlePolicy:
    """The limits: failures allowed per key, the backoff after them, and their memory."""

    account_failures: int = 5
    address_failures: int = 100
    backoff_seconds: float = 60.0
    backoff_max_seconds: float = 900.0
    window_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        """The policy the `LFP_LOGIN_*` settings describe."""
        return cls(
            account_failures=settings.login_account_failures,
            address_failures=settings.login_address_failures,
            backoff_seconds=settings.login_backoff_seconds,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            window_seconds=settings.login_failure_window_seconds,
        )

    def limit(self, scope: str) -> int:
        """Failures a key of `scope` may have before it must wait."""
        return self.account_failures if scope == ACCOUNT else self.address_failures

    def backoff(self, failures: int, scope: str) -> timedelta | None:
        """How long a key must wait after its `failures`-th failure (None: not yet)."""
        over = failures - self.limit(scope)
        if over < 0:
            return None
        seconds = self.backoff_seconds * 2.0 ** min(over, 64)
        return timedelta(seconds=min(seconds, self.backoff_max_seconds))


@dataclass(frozen=True)
class Attempt:
    """A login attempt that passed the throttle and is counted as failed until it succeeds."""

    address_key: str
    account_key: str


def throttle_key(scope: str, address: str, email: str = "") -> str:
    """The key of `scope`'s counter: a digest, so any email or address fits the column."""
    material = "\x00".join((scope, address, email.strip().lower()))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    """Counts failed logins in the database and refuses attempts over their limits."""

    def __init__(self, db: Database, policy: ThrottlePolicy) -> None:
        self._db = db
        self.policy = policy

    def begin(self, email: str, address: str) -> Attempt:
        """Count an attempt as failed, or raise `LoginThrottled` if a limit is reached."""
        attempt = Attempt(
            address_key=throttle_key(ADDRESS, address),
            account_key=throttle_key(ACCOUNT, address, email),
        )
        scopes = {attempt.address_key: ADDRESS, attempt.account_key: ACCOUNT}
        refused: LoginThrottled | None = None
        with self._db.write() as session:
            now = utcnow()
            rows = _locked_rows(session, scopes, now)
            waits = [(_wait(row, now), row.scope) for row in rows if _wait(row, now) > 0]
            if waits:
                wait, scope = max(waits)
                refused = LoginThrottled(scope, retry_after=wait)
            else:
                for row in rows:
                    self._count_failure(row, now)
        if refused is not None:
            raise refused
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: forget the account's failures from its address,
        and take back the failure counted for the address (a backoff already due stays)."""
        with self._db.write() as session:
            # Locked in key order, as `begin` locks them: the two never deadlock.
            for row in _locked(session, [attempt.address_key, attempt.account_key]):
                if row.scope == ACCOUNT:
                    session.delete(row)
                elif row.failures > 0:
                    row.failures -= 1
                    if row.failures < self.policy.address_failures:
                        row.blocked_until = None

    def prune(self) -> int:
        """Delete the counters whose failures are all forgotten; how many were deleted."""
        now = utcnow()
        forgotten = now - timedelta(seconds=self.policy.window_seconds)
        with self._db.write() as session:
            result = session.execute(
                delete(LoginFailures).where(
                    LoginFailures.last_failure_at <= forgotten,
                    or_(LoginFailures.blocked_until.is_(None), LoginFailures.blocked_until <= now),
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def _count_failure(self, row: LoginFailures, now: datetime) -> None:
        if now - row.last_failure_at >= timedelta(seconds=self.policy.window_seconds):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = self.policy.backoff(row.failures, row.scope)
        row.blocked_until = now + wait if wait is not None else None


def _wait(row: LoginFailures, now: datetime) -> float:
    """Seconds the key of `row` must still wait (0 or less: none)."""
    if row.blocked_until is None:
        return 0.0
    return (row.blocked_until - now).total_seconds()


def _locked_rows(session: Session, scopes: dict[str, str], now: datetime) -> list[LoginFailures]:
    """The counters of these keys, created if new, locked for this transaction.

    Keys are created and locked in sorted order, so two attempts never deadlock; SQLite's
    immediate write transactions serialise them anyway.
    """
    keys = sorted(scopes)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    fresh = [
        {"key": k, "scope": scopes[k], "failures": 0, "last_failure_at": now, "blocked_until": None}
        for k in keys
    ]
    session.execute(
        insert(LoginFailures).values(fresh).on_conflict_do_nothing(index_elements=["key"])
    )
    return _locked(session, keys)


def _locked(session: Session, keys: list[str]) -> list[LoginFailures]:
    """The existing counters of these keys, locked in key order for this transaction."""
    found = session.scalars(
        select(LoginFailures)
        .where(LoginFailures.key.in_(keys))
        .order_by(LoginFailures.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(found)
