"""titles: the titles catalogue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:15:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Text compares by code point on every database (PostgreSQL's "C" = SQLite's BINARY).
TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
# Columns with an ascending and a descending index (show_id, the key, needs neither).
SORTED = (
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

# Columns the API's `q` searches, with trigram indexes on PostgreSQL when it can have them.
SEARCHED = ("title", "cast", "director")
TRIGRAM = "pg_trgm"


def upgrade() -> None:

    op.create_table(
        "titles",
        sa.Column("show_id", TEXT, nullable=False),
        sa.Column("type", TEXT, nullable=False),
        sa.Column("title", TEXT, nullable=True),
        sa.Column("director", TEXT, nullable=True),
        sa.Column("cast", TEXT, nullable=True),
        sa.Column("country", TEXT, nullable=True),
        sa.Column("date_added", sa.Date(), nullable=True),
        sa.Column("release_year", sa.Integer(), nullable=True),
        sa.Column("rating", TEXT, nullable=True),
        sa.Column("duration", TEXT, nullable=True),
        sa.Column("listed_in", TEXT, nullable=True),
        sa.Column("description", TEXT, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("show_id", name=op.f("pk_titles")),
    )
    # The query API sorts NULLs last in both directions with show_id ascending as the
    # tiebreak; SQLite's DESC already puts NULLs last, PostgreSQL's must be told.
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("titles", schema=None) as batch_op:
        for name in SORTED:
            descending: sa.TextClause | sa.ColumnElement[Any] = (
                sa.text(f'"{name}" DESC NULLS LAST') if postgres else sa.desc(sa.column(name))
            )
            batch_op.create_index(op.f(f"ix_titles_{name}"), [name, "show_id"], unique=False)
            batch_op.create_index(
                op.f(f"ix_titles_{name}_desc"), [descending, "show_id"], unique=False
            )
    if postgres:
        _create_trigram_indexes()


def _create_trigram_indexes() -> None:
    """GIN trigram indexes for the API's `q` (a substring of title, cast or director).

    Only where the pg_trgm extension can be had; without it `q` reads the whole table.
    """
    bind = op.get_bind()
    available = f"SELECT 1 FROM pg_available_extensions WHERE name = '{TRIGRAM}'"
    if bind.exec_driver_sql(available).scalar() is None:
        return
    try:
        with bind.begin_nested():  # a refusal (no privilege) must not end the migration
            bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM}")
    except sa.exc.DBAPIError:
        return
    for name in SEARCHED:
        # The query filters with ILIKE '%…%', which a trigram index serves as it is.
        op.execute(
            f'CREATE INDEX "ix_titles_{name}_trgm" ON titles USING gin ("{name}" gin_trgm_ops)'
        )


def downgrade() -> None:

    for name in SEARCHED:
        op.execute(f'DROP INDEX IF EXISTS "ix_titles_{name}_trgm"')
    with op.batch_alter_table("titles", schema=None) as batch_op:
        for name in reversed(SORTED):
            batch_op.drop_index(op.f(f"ix_titles_{name}_desc"))
            batch_op.drop_index(op.f(f"ix_titles_{name}"))

    op.drop_table("titles")
