"""A clock the tests move by hand, to stand in for `utcnow` in a module under test."""

from __future__ import annotations

from datetime import datetime, timedelta

from lfp.db.base import utcnow


class Clock:
    """The time a module sees; tests move it forward."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
