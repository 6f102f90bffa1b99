"""The `titles` table: one row per show_id, loaded by the `titles` processor."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, utcnow

# Text compares by code point on every database: PostgreSQL's "C" collation matches
# SQLite's BINARY, so a sorted page is the same whichever database is behind the API.
Text = String().with_variant(String(collation="C"), "postgresql")

# Every column a caller may sort by; all but show_id (the primary key) get two indexes:
# ascending and descending, each with show_id as the tiebreak, so any sort reads in order.
SORTABLE = (
    "show_id",
    "type",
    "title",
    "director",
    "cast",
    "country",
    "date_added",
    "release_year",
    "rating",
    "duration",
    "listed_in",
    "description",
)


class Title(Base):
    """A film or TV show from the Netflix titles data set."""

    __tablename__ = "titles"

    show_id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    director: Mapped[str | None] = mapped_column(Text)
    # "cast" is an SQL keyword (and a Python builtin's name): the attribute has another name.
    cast_members: Mapped[str | None] = mapped_column("cast", Text)
    country: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[date | None] = mapped_column(Date)
    release_year: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[str | None] = mapped_column(Text)
    listed_in: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def _sort_indexes() -> list[Index]:
    table = Title.__table__
    indexes = []
    for name in SORTABLE[1:]:
        column = table.c[name]
        indexes.append(Index(f"ix_titles_{name}", column, table.c.show_id))
        # On PostgreSQL the migration creates this one as DESC NULLS LAST (SQLite's DESC
        # already puts NULLs last), matching the ORDER BY the query API uses.
        indexes.append(Index(f"ix_titles_{name}_desc", column.desc(), table.c.show_id))
    return indexes


SORT_INDEXES = _sort_indexes()
