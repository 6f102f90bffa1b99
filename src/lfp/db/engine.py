"""The metadata database: one engine, short read sessions, and units of work.

A unit of work (`Database.write`) is one transaction. What must happen only once it has
committed (start verifying a file, ring a job's doorbell) is registered with `after_commit`
inside it, so that no caller has to remember to do it afterwards, and a rollback skips it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lfp.errors import Unprocessable

_WRITE = "lfp_write"
_AFTER_COMMIT = "lfp_after_commit"

log = logging.getLogger(__name__)


class Database:
    """Sessions on one engine: `read()` for lookups, `write()` for a unit of work."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=20,
                max_overflow=20,
            )
            _tune_sqlite(self.engine)
        else:
            # `pool_size` kept open while idle, 30 more under load: PostgreSQL's connections
            # are shared by every server and worker (100 by default).
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=30, pool_pre_ping=True
            )
            _refuse_nul_text(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Its own busy handler waits by sleeping in growing
        # steps (up to 100 ms), which stalls parallel chunk uploads; a lock in the process
        # hands the turn over at once. Other processes still meet SQLite's busy timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; objects loaded from it stay usable after it closes."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception.

        Actions registered with `after_commit` run once it has committed, outside it.
        """
        actions: list[Callable[[], object]] = []
        with self._write_lock or nullcontext(), self._sessions() as session, session.begin():
            session.connection(execution_options={_WRITE: True})
            session.info[_AFTER_COMMIT] = actions
            yield session
        for action in actions:
            try:
                action()
            except Exception:
                # Committed state is the truth; every such action is also retried by a
                # recovery pass (verification resumes, jobs are dispatched again).
                log.exception("an action after a commit failed; recovery will retry it")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once the unit of work `session` belongs to has committed."""
    actions: list[Callable[[], object]] | None = session.info.get(_AFTER_COMMIT)
    if actions is None:
        raise RuntimeError("after_commit needs a session from Database.write()")
    actions.append(action)


def _refuse_nul_text(engine: Engine) -> None:
    """Refuse, before PostgreSQL does, a text value holding a NUL character.

    PostgreSQL cannot store U+0000 in text and fails the statement with a server error;
    this makes it a 422 naming the value's parameter. Requests are checked for NUL where
    they are read (`lfp.http.guard`, the form reader, tus metadata); this is the net
    under those checks. Bulk writes (`executemany`) are left to their own checks.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        if many or not isinstance(parameters, dict):
            return
        for name, value in parameters.items():
            if isinstance(value, str) and "\x00" in value:
                field = re.sub(r"_+[0-9]+$", "", str(name))
                raise Unprocessable(f"{field} contains a NUL character, which cannot be stored")


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the lock up front: a deferred one that reads and then
        # writes fails at once with "database is locked" when another writer got in between.
        # Reads stay deferred, so they never wait for writers (WAL).
        immediate = connection.get_execution_options().get(_WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
