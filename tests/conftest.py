"""Fixtures: real lfp servers on SQLite and on PostgreSQL, and signed-in users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from tests.helpers import Server, sign_up
from tests.s3 import CREDENTIALS, MotoServer

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Settings every test server shares: no free-space reserve (CI disks vary), short chunk
# and job leases and sweeps so crash and expiry cases resolve in seconds, a 2 GiB upload limit.
# The test plugin folder on PYTHONPATH installs the `test-gate` processor (tests/plugins).
PLUGINS = Path(__file__).parent / "plugins"
BASE_ENV = {
    "PYTHONPATH": str(PLUGINS),
    "LFP_JOB_LEASE_SECONDS": "4",
    "LFP_MIN_FREE_BYTES": "0",
    "LFP_CHUNK_LEASE_SECONDS": "2",
    "LFP_SWEEP_INTERVAL_SECONDS": "0.5",
    "LFP_MAX_UPLOAD_SIZE": str(2 * 1024**3),
    "LFP_FSYNC": "false",
    # Every test's client is 127.0.0.1: the failed logins of a whole run (the fuzzer's
    # included) must not hold up the next test's sign-in (tests/integration/auth throttles).
    "LFP_LOGIN_ADDRESS_FAILURES": "1000000",
    # Servers a test starts live until the session ends: idle, each keeps one PostgreSQL
    # connection, so dozens of them stay inside the server's 100.
    "LFP_DATABASE_POOL_SIZE": "1",
}


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable ({exc.__class__.__name__})"


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[str], str | None]]:
    """Returns a database URL for a backend: None (SQLite default) or a fresh PG database."""
    created: list[str] = []

    def make(backend: str) -> str | None:
        if backend == "sqlite":
            return None
        reason = _postgres_unavailable()
        if reason:
            if IN_CI:
                pytest.fail(f"{reason}; CI must test PostgreSQL")
            pytest.skip(reason)
        name = f"lfp_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    if created:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for name in created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def s3_env(moto: MotoServer) -> dict[str, str]:
    """The settings that put a server's blobs in a new bucket on `moto`."""
    return {
        **CREDENTIALS,
        "LFP_STORAGE_URL": f"s3://{moto.new_bucket()}/lfp",
        "LFP_S3_ENDPOINT_URL": moto.url,
    }


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real S3 endpoint (moto's server mode), shared by the session."""
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)  # the SDK's standard chain finds them
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    yield server
    server.stop()


StartServer = Callable[..., Server]


@pytest.fixture(scope="session")
def server_factory(
    tmp_path_factory: pytest.TempPathFactory,
    make_database: Callable[[str], str | None],
    request: pytest.FixtureRequest,
) -> Iterator[StartServer]:
    """Starts `lfp serve` processes for a backend that live until the session ends.

    Backend `postgres-s3` is PostgreSQL with blobs in a new bucket on moto's S3 server.
    Only what the whole session shares should live that long: an idle server still
    sweeps (twice a second here), and dozens of them kept the two cores busy. Tests and
    modules start theirs with `start_server` and `start_module_server`, which stop them.
    """
    servers: list[Server] = []

    def start(backend: str, **env: str) -> Server:
        database, _, storage = backend.partition("-")
        url = make_database(database)
        full_env = {
            **BASE_ENV,
            **(s3_env(request.getfixturevalue("moto")) if storage else {}),
            **env,
        }
        if url:
            full_env["LFP_DATABASE_URL"] = url
        server = Server(tmp_path_factory.mktemp(f"lfp-{backend}"), full_env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@contextmanager
def _stopped_after(factory: StartServer) -> Iterator[StartServer]:
    """A `factory` whose servers are stopped when the context ends."""
    started: list[Server] = []

    def start(backend: str, **env: str) -> Server:
        started.append(factory(backend, **env))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_server(server_factory: StartServer) -> Iterator[StartServer]:
    """Starts `lfp serve` processes (see `server_factory`) that stop when the test ends."""
    with _stopped_after(server_factory) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_server(server_factory: StartServer) -> Iterator[StartServer]:
    """Starts `lfp serve` processes (see `server_factory`) that stop with the module."""
    with _stopped_after(server_factory) as start:
        yield start


@pytest.fixture(scope="session", params=["sqlite", "postgres", "postgres-s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """The metadata database a test runs on (and, for `postgres-s3`, the blob store)."""
    return str(request.param)


@pytest.fixture(scope="session")
def _shared_servers() -> dict[str, Server]:
    """The shared server of each backend, once started."""
    return {}


@pytest.fixture(scope="session")
def server(backend: str, server_factory: StartServer, _shared_servers: dict[str, Server]) -> Server:
    """A server shared by the tests of one backend, for the whole session.

    Kept apart from the `backend` fixture's lifetime: pytest sets a session-scoped param
    up again each time the running tests switch to another value (with pytest-xdist, at
    almost every file), and a server per switch left dozens idle.
    """
    if backend not in _shared_servers:
        _shared_servers[backend] = server_factory(backend)
    return _shared_servers[backend]


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    """A new signed-in user of the shared server."""
    with sign_up(server.url) as client:
        yield client


@pytest.fixture
def other_api(server: Server) -> Iterator[httpx.Client]:
    """A second user of the same server."""
    with sign_up(server.url) as client:
        yield client


@pytest.fixture
def server_database(server: Server) -> Iterator[sa.Engine]:
    """The shared server's own metadata database, to set up states no request can make
    (or hold still)."""
    url = server.env.get("LFP_DATABASE_URL") or f"sqlite:///{server.data_dir / 'lfp.db'}"
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


# Where the blob store matters; elsewhere (accounts, catalogues, the CLI) S3 would only
# repeat the PostgreSQL run.
S3_SUITES = ("uploads", "files", "jobs", "processors")


@pytest.hookimpl(trylast=True)  # after pytest has grouped the items by their fixtures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the `postgres-s3` backend only for the suites where the store matters, and the
    browser tests last.

    Playwright's sync API keeps an event loop running in the main thread while its
    (session-wide) browser lives, and `asyncio.run` refuses to start under it: the tests
    that use asyncio must all have run before the first browser test starts.
    """
    integration = Path(__file__).parent / "integration"
    browser = Path(__file__).parent / "browser"
    kept, dropped, last = [], [], []
    for item in items:
        relative = (
            item.path.relative_to(integration) if item.path.is_relative_to(integration) else None
        )
        on_s3 = "[postgres-s3" in item.nodeid
        if on_s3 and (relative is None or relative.parts[0] not in S3_SUITES):
            dropped.append(item)
        elif item.path.is_relative_to(browser):
            last.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept + last


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server's log to a failed test's report."""
    report = yield
    if call.when == "call" and call.excinfo is not None:
        funcargs = getattr(item, "funcargs", {})
        for value in funcargs.values():
            if isinstance(value, Server):
                report.sections.append(("lfp server log", value.log()[-5000:]))
    return report
