"""The HTML every page shares: head, navigation and the page's own body and script.

Each page's body is a template file (`templates/<page>.html`); its script and styles are
the bundle `make install` builds from `web/src/pages/<page>.js`. The page itself is static:
what it shows, it fetches from the API with the session cookie.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
DIST = Path(__file__).parent / "static" / "dist"
BUILT = DIST / ".built"  # written last by the build: the bundles are all there

# Where the navigation leads, in its order.
NAVIGATION = (
    ("/", "Upload"),
    ("/files", "Files"),
    ("/jobs", "Jobs"),
    ("/titles", "Titles"),
    ("/products", "Products"),
)


@dataclass(frozen=True)
class Page:
    """One page: its bundle and template name, its title, and whether it needs a sign-in."""

    name: str
    title: str
    signed_in: bool = True


def is_built() -> bool:
    """Whether the bundles the pages load have been built."""
    return BUILT.exists()


@cache
def _template(name: str) -> str:
    return (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")


def _version() -> str:
    """A token that changes with every build, so browsers fetch new bundles."""
    return str(BUILT.stat().st_mtime_ns)


def _navigation(current: str, email: str | None) -> str:
    if email is None:
        return (
            '<nav aria-label="Account"><ul>'
            '<li><a href="/signin">Sign in</a></li><li><a href="/signup">Sign up</a></li>'
            "</ul></nav>"
        )
    links = "".join(
        f'<li><a href="{href}"{" aria-current=page" if href == current else ""}>{label}</a></li>'
        for href, label in NAVIGATION
    )
    return (
        f'<nav aria-label="Main"><ul>{links}</ul></nav>'
        f'<div class="account"><span class="who">{html.escape(email)}</span>'
        '<button type="button" id="sign-out">Sign out</button></div>'
    )


def render(page: Page, path: str, email: str | None) -> str:
    """The whole HTML of `page`, shown at `path` to `email` (None: nobody signed in)."""
    version = _version()
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)} · lfp</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dist/{page.name}.css?v={version}">
<script type="module" src="/static/dist/{page.name}.js?v={version}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site">
<a class="brand" href="/">lfp</a>
{_navigation(path, email)}
</header>
<main id="main" tabindex="-1">
<h1>{html.escape(page.title)}</h1>
<div role="alert" class="problem" id="problem" hidden></div>
{_template(page.name)}
</main>
</body>
</html>
"""
