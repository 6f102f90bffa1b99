"""Query parameters the catalogue APIs share: paging, sort direction, choices, numbers.

They arrive as text and are checked here rather than by FastAPI, so that a bad value is a
400 that names what is allowed (FastAPI's own checks would answer 422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from lfp.errors import BadRequest

MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
S = TypeVar("S", bound=str)


@dataclass(frozen=True)
class PageQuery:
    """Which page, how long, and which way to sort."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort_order: int = -1

    @property
    def descending(self) -> bool:
        """Whether the sort runs from the largest value down (sort_order -1)."""
        return self.sort_order < 0


def page_query(page: str | None, per_page: str | None, sort_order: str | None) -> PageQuery:
    """The paging and direction parameters, checked; BadRequest names what is allowed."""
    return PageQuery(
        page=whole_number("page", page, 1, MAX_PAGE) or 1,
        per_page=whole_number("per_page", per_page, 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE,
        sort_order=int(choice("sort_order", sort_order, ("-1", "1"), "-1")),
    )


def whole_number(name: str, text: str | None, low: int, high: int) -> int | None:
    """The whole number `text` within [low, high]; None when not given."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return value


def choice(name: str, value: str | None, allowed: tuple[S, ...], default: S) -> S:
    """`value` if it is one of `allowed`, `default` when not given; else BadRequest."""
    if value is None:
        return default
    for option in allowed:
        if value == option:
            return option
    raise BadRequest(
        f"{name} must be one of: {', '.join(allowed)} (not {value!r})",
        extra={"allowed": list(allowed)},
    )


def no_nul(name: str, text: str | None) -> str | None:
    """`text`, refused when it holds a NUL (no database text can, and drivers refuse it)."""
    if text is not None and "\x00" in text:
        raise BadRequest(f"{name} must not contain NUL characters")
    return text
