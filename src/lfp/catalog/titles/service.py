"""Queries over the titles catalogue: one title, or a filtered, sorted page of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, literal, or_, select

from lfp.catalog.query import PageQuery, choice, no_nul, page_query, whole_number
from lfp.catalog.text_match import folded_contains, folded_equals, folded_like, like_text
from lfp.catalog.titles.models import SORTABLE, Title
from lfp.db.engine import Database
from lfp.errors import NotFound

DEFAULT_SORT = "date_added"


@dataclass(frozen=True)
class TitleQuery:
    """A validated request for a page of titles."""

    paging: PageQuery = field(default_factory=PageQuery)
    sort_by: str = DEFAULT_SORT
    type: str | None = None
    country: str | None = None
    release_year: int | None = None
    q: str | None = None


def parse_query(
    *,
    page: str | None,
    per_page: str | None,
    sort_by: str | None,
    sort_order: str | None,
    type: str | None,
    country: str | None,
    release_year: str | None,
    q: str | None,
) -> TitleQuery:
    """The query parameters as given (text), checked; `BadRequest` naming what is allowed."""
    return TitleQuery(
        paging=page_query(page, per_page, sort_order),
        sort_by=choice("sort_by", sort_by, tuple(sorted(SORTABLE)), DEFAULT_SORT),
        type=no_nul("type", type),
        country=no_nul("country", country),
        release_year=whole_number("release_year", release_year, 0, 9999),
        q=no_nul("q", q) or None,
    )


class TitleService:
    """Read access to the titles catalogue (shared by every signed-in user)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, show_id: str) -> Title:
        """The title; `NotFound` when there is none with that show_id."""
        if "\x00" in show_id:
            raise NotFound("no title with a NUL character in its show_id")
        with self._db.read() as session:
            title = session.get(Title, show_id)
        if title is None:
            raise NotFound(f"no title {show_id!r}")
        return title

    def page(self, query: TitleQuery) -> tuple[list[Title], int]:
        """One page of the titles matching `query`, and how many match in all."""
        conditions = _conditions(query)
        with self._db.read() as session:
            total = session.scalar(select(func.count()).select_from(Title).where(*conditions))
            items = session.scalars(
                _sorted(select(Title).where(*conditions), query)
                .offset((query.paging.page - 1) * query.paging.per_page)
                .limit(query.paging.per_page)
            ).all()
        return list(items), total or 0


def _conditions(query: TitleQuery) -> list[ColumnElement[bool]]:
    # Text filters fold both sides (lfp.catalog.text_match), so a value typed in the stored
    # case always matches, and other cases for the letters the database folds: ASCII on
    # SQLite, all of Unicode on PostgreSQL with a UTF-8 locale (docs/api.md).
    conditions: list[ColumnElement[bool]] = []
    if query.type is not None and query.type.strip():
        conditions.append(folded_equals(Title.type, query.type.strip()))
    if query.country is not None:
        conditions += [_has_country(name) for name in _countries(query.country)]
    if query.release_year is not None:
        conditions.append(Title.release_year == query.release_year)
    if query.q is not None:
        # Substring in any of the three columns; `%` and `_` are taken literally.
        columns = (Title.title, Title.cast_members, Title.director)
        conditions.append(or_(*(folded_contains(c, query.q) for c in columns)))
    return conditions


def _countries(text: str) -> list[str]:
    """The countries a `country` filter names: one, or several comma-separated (all must be)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _has_country(name: str) -> ColumnElement[bool]:
    """Whether a title's comma-separated country list holds `name` as one whole entry.

    The list is normalised in SQL to `,a,b,` (no spaces around commas; the file's stray
    leading or trailing commas leave empty entries, which match nothing), so "france"
    finds "France, Belgium" and "Belgium, France" but not "Franceland".
    """
    listed: ColumnElement[str] = literal(",") + func.coalesce(Title.country, "") + literal(",")
    for spaced in (", ", ", ", " ,", " ,"):  # twice each: a double space needs two passes
        listed = func.replace(listed, spaced, ",")
    return folded_like(listed, f"%,{like_text(name)},%")


def _sorted(statement: Select[Title], query: TitleQuery) -> Select[Title]:
    """Ordered by the sort column, NULLs last either way, then by show_id ascending."""
    column = Title.__table__.c[query.sort_by]
    descending = query.paging.descending
    if query.sort_by == "show_id":
        return statement.order_by(column.desc() if descending else column)
    order = column.desc() if descending else column.asc()
    return statement.order_by(order.nulls_last(), Title.show_id)
