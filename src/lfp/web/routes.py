"""HTTP routes of the web pages, and the bundles they load under /static.

A page that needs a sign-in redirects to /signin when the session cookie is missing or no
longer valid. Pages are never cached (they say who is signed in); bundles are, by version.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lfp.auth.models import User
from lfp.deps import SESSION_COOKIE, AppServices
from lfp.errors import Forbidden, NotAuthenticated
from lfp.http.problems import HttpProblem
from lfp.web.shell import Page, is_built, render

router = APIRouter(include_in_schema=False)

# Only what the pages need: their own bundles, the API, and blob: URLs (previews).
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

PAGES = {
    "/": Page("upload", "Upload"),
    "/files": Page("files", "Files"),
    "/jobs": Page("jobs", "Jobs"),
    "/jobs/{job_id}": Page("job", "Job"),
    "/titles": Page("titles", "Titles"),
    "/products": Page("products", "Products"),
    "/signin": Page("signin", "Sign in", signed_in=False),
    "/signup": Page("signup", "Sign up", signed_in=False),
}


def _signed_in_user(request: Request, services: AppServices) -> User | None:
    """The user the session cookie names, if it is valid."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    try:
        return services.sessions.authenticate(cookie, kind="browser")[0]
    except (NotAuthenticated, Forbidden):
        return None


def _show(page: Page, request: Request, services: AppServices) -> Response:
    if not is_built():
        raise HttpProblem(
            503,
            "the web pages are not built: run `make install` (it needs Node.js and npm) "
            "and start the server again",
        )
    user = _signed_in_user(request, services)
    if page.signed_in and user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = quote(here, safe="")
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    body = render(page, request.url.path, user.email if user else None)
    return HTMLResponse(body, headers=_SECURITY_HEADERS)


def _add_page(path: str, page: Page) -> None:
    def show(request: Request, services: AppServices) -> Response:
        return _show(page, request, services)

    show.__name__ = f"page_{page.name}"
    router.add_api_route(path, show, methods=["GET"], response_class=HTMLResponse)


for _path, _page in PAGES.items():
    _add_page(_path, _page)


__all__ = ["PAGES", "router"]
