"""Leases: which request or worker holds a row (a chunk, a tus upload, a job), and until when.

The database arbitrates, so a lease holds across API servers and workers. A holder renews
its lease while it lives (`Heartbeat`); one that goes silent longer than the lease is taken
for dead and its row may be taken over. A newer claimant may also ask a live holder to
stop, through a flag the holder reads at its next renewal. Every write a holder makes is
guarded by `Heartbeat.check`, so a holder that lost its lease stops before its next write.

The one assumption: the clocks of the servers sharing a database agree to well within a
lease (NTP does this); a lease's end is written by its holder's clock and read by others'.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lfp.db.base import utcnow
from lfp.db.engine import Database

log = logging.getLogger(__name__)


class LeaseState(enum.Enum):
    """What a renewal found: still held, held but asked to stop, or lost to another."""

    held = "held"
    asked_to_stop = "asked_to_stop"
    lost = "lost"


class LeaseLost(Exception):
    """The holder no longer holds its lease (or was asked to let go): it must stop writing."""

    def __init__(self, state: LeaseState) -> None:
        super().__init__(f"the lease is {state.value}")
        self.state = state


@dataclass(frozen=True)
class LeaseColumns:
    """Where one kind of row keeps its lease: the holder's token, the lease's end, and the
    flag a newer claimant sets to ask the holder to stop (if the kind has one)."""

    model: type[Any]
    holder: str
    until: str
    stop: str | None = None


# A renewal's extra work inside its transaction, on the row it holds (say, writing progress).
OnRenew = Callable[[Any], None]


class Lease:
    """Taking, renewing, releasing and watching leases of one kind, `seconds` long."""

    def __init__(self, db: Database, columns: LeaseColumns, seconds: float) -> None:
        self.db = db
        self.columns = columns
        self.seconds = seconds

    # -- inside the caller's transaction, on a row it holds locked -----------------------

    def remaining(self, row: Any, now: datetime | None = None) -> float | None:
        """Seconds left of a live lease on `row`; None when nobody holds it."""
        until: datetime | None = getattr(row, self.columns.until)
        if getattr(row, self.columns.holder) is None or until is None:
            return None
        left = (until - (now or utcnow())).total_seconds()
        return left if left > 0 else None

    def take(self, row: Any, now: datetime | None = None) -> uuid.UUID:
        """Make a fresh token the holder of `row` (whoever held it before); the token."""
        token = uuid.uuid4()
        setattr(row, self.columns.holder, token)
        setattr(row, self.columns.until, (now or utcnow()) + timedelta(seconds=self.seconds))
        if self.columns.stop is not None:
            setattr(row, self.columns.stop, False)
        return token

    def holds(self, row: Any, token: uuid.UUID) -> bool:
        """Whether `token` still holds `row` (lapsed or not: nobody else took it)."""
        return row is not None and getattr(row, self.columns.holder) == token

    def ask_to_stop(self, row: Any) -> None:
        """Ask the holder of `row` to let go; it reads this at its next renewal."""
        if self.columns.stop is None:
            raise TypeError(f"{self.columns.model.__name__} leases cannot be asked to stop")
        setattr(row, self.columns.stop, True)

    def clear(self, row: Any) -> None:
        """Leave `row` held by nobody."""
        setattr(row, self.columns.holder, None)
        setattr(row, self.columns.until, None)
        if self.columns.stop is not None:
            setattr(row, self.columns.stop, False)

    # -- each in a transaction of its own -------------------------------------------------

    def renew(self, key: Any, token: uuid.UUID, on_renew: OnRenew | None = None) -> LeaseState:
        """Extend the lease if `token` still holds it; what the renewal found."""
        with self.db.write() as session:
            row = session.get(self.columns.model, key, with_for_update=True)
            if not self.holds(row, token):
                return LeaseState.lost
            setattr(row, self.columns.until, utcnow() + timedelta(seconds=self.seconds))
            if on_renew is not None:
                on_renew(row)
            asked = self.columns.stop is not None and getattr(row, self.columns.stop)
            return LeaseState.asked_to_stop if asked else LeaseState.held

    def release(
        self,
        key: Any,
        token: uuid.UUID,
        then: Callable[[Session, Any], None] | None = None,
    ) -> bool:
        """Let go of the lease if `token` still holds it (`then` instead of just clearing
        it, say to delete the row); whether it did."""
        with self.db.write() as session:
            row = session.get(self.columns.model, key, with_for_update=True)
            if not self.holds(row, token):
                return False
            if then is not None:
                then(session, row)
            else:
                self.clear(row)
            return True


class Heartbeat:
    """Keeps one held lease alive from a thread of its own while its holder works.

    The holder calls `check()` before each write: it raises `LeaseLost` once a renewal
    found the lease lost (or the holder asked to stop), and renews at once, in the calling
    thread, when the last renewal is too old to vouch for the lease (a holder that stalled
    and woke up). `on_stop` hears the first time a renewal finds the lease not held.

    With `idle_renews=False` a beat renews only if the holder wrote since the last one: a
    request whose client went silent then loses its lease, and a retry can take over.
    """

    def __init__(
        self,
        lease: Lease,
        key: Any,
        token: uuid.UUID,
        *,
        interval: float,
        on_stop: Callable[[LeaseState], None] | None = None,
        on_renew: OnRenew | None = None,
        idle_renews: bool = True,
    ) -> None:
        self._lease = lease
        self._key = key
        self._token = token
        # However short the lease, a few dozen renewals a second at most.
        self._interval = max(interval, 0.02)
        self._on_stop = on_stop
        self._on_renew = on_renew
        self._idle_renews = idle_renews
        self._state = LeaseState.held
        self._touched = False
        # A renewal vouches for the lease until a third of it is left: a write begun then
        # still ends well inside the lease.
        self._trusted_for = lease.seconds * 2 / 3
        self._trusted_until = time.monotonic() + self._trusted_for
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lfp-heartbeat", daemon=True)

    @property
    def state(self) -> LeaseState:
        """What the last renewal found."""
        return self._state

    def start(self) -> Heartbeat:
        """Begin beating; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the lease itself is released by its holder)."""
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def check(self) -> None:
        """Raise `LeaseLost` unless the lease is surely still held; call before each write."""
        self._touched = True
        if self._state is LeaseState.held and time.monotonic() >= self._trusted_until:
            self._beat(force=True)
        if self._state is not LeaseState.held:
            raise LeaseLost(self._state)

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            try:
                self._beat()
            except Exception:
                # A database hiccup must not kill the holder; the next beat tries again, and
                # `check` refuses writes once the last renewal is too old.
                log.warning("renewing a lease failed", exc_info=True)
            if self._state is LeaseState.lost:
                return

    def _beat(self, *, force: bool = False) -> None:
        with self._lock:
            if self._state is LeaseState.lost:
                return
            if not (force or self._idle_renews or self._touched):
                return
            self._touched = False
            started = time.monotonic()
            state = self._lease.renew(self._key, self._token, self._on_renew)
            if state is not LeaseState.lost:
                self._trusted_until = started + self._trusted_for
            first_stop = state is not LeaseState.held and self._state is LeaseState.held
            self._state = state
        if first_stop and self._on_stop is not None:
            self._on_stop(state)
