"""Fixtures of the browser tests: Debian's chromium driven by Playwright, against a real
`lfp serve`, one fresh browser context (no cookies) per test.

Each test's page fails the test on a console error or an uncaught exception, and
`snapshot` writes full-page screenshots under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.helpers import PASSWORD, REPOSITORY, Server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY / "test-artifacts" / "screenshots"
# Without the background-networking flags, chromium keeps calling Google's hosts, which a
# closed network refuses; the sandbox needs kernel features a root container lacks.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the whole run."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def web(
    server_factory: Callable[..., Server], backend: str, _shared_servers: dict[str, Server]
) -> Server:
    """The server the browser tests share, on each database (once each: see `server`)."""
    key = f"browser-{backend}"
    if key not in _shared_servers:
        _shared_servers[key] = server_factory(backend)
    return _shared_servers[key]


@pytest.fixture
def console_errors() -> list[str]:
    return []


def new_page(browser: Browser, server: Server, errors: list[str], width: int = 1280) -> Page:
    """A page `width` pixels wide in a fresh context (its own cookies) on `server`,
    recording console errors."""
    context = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return page


@pytest.fixture
def page(browser: Browser, web: Server, console_errors: list[str]) -> Iterator[Page]:
    """A page of a new browser context on the shared server; no console errors allowed."""
    made = new_page(browser, web, console_errors)
    yield made
    made.context.close()
    assert console_errors == [], "the page logged errors:\n" + "\n".join(console_errors)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Writes a full-page screenshot named after the test and `name`; returns its path."""

    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        path = ARTIFACTS / f"{test}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def forget_failed_loads(errors: list[str], *reasons: str) -> None:
    """Drop from `errors` the browser's "Failed to load resource" lines naming one of
    `reasons` (a status such as "409", or a network error): answers a test expects, which
    the browser logs as errors although the page handles them."""
    errors[:] = [
        error
        for error in errors
        if not ("Failed to load resource" in error and any(r in error for r in reasons))
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"accessibility violations on {page.url}:\n" + "\n".join(bad)


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(page: Page, email: str | None = None, password: str = PASSWORD) -> str:
    """Sign up through the form (which signs in too); the email used."""
    email = email or new_email()
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/$"))
    return email


@pytest.fixture
def signed_in(page: Page) -> Page:
    """The page, signed in as a new user (on the upload page)."""
    sign_up(page)
    return page


__all__ = [
    "CHROMIUM",
    "assert_accessible",
    "forget_failed_loads",
    "new_email",
    "new_page",
    "sign_up",
]
