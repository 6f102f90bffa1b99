"""products: the products catalogue and its aggregates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _code_point_string(length: int) -> sa.types.TypeEngine[str]:
    # Sorts by code point on every database: SQLite's BINARY, PostgreSQL's "C" collation.
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:

    op.create_table(
        "products",
        sa.Column("sku", _code_point_string(255), nullable=False),
        sa.Column("name", _code_point_string(1000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_name_sku", ["name", "sku"], unique=False)
        batch_op.create_index("ix_products_updated_at_sku", ["updated_at", "sku"], unique=False)

    op.create_table(
        "product_aggregates",
        sa.Column("name", _code_point_string(1000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_product_aggregates")),
    )
    with op.batch_alter_table("product_aggregates", schema=None) as batch_op:
        batch_op.create_index("ix_product_aggregates_count_name", ["count", "name"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("product_aggregates", schema=None) as batch_op:
        batch_op.drop_index("ix_product_aggregates_count_name")

    op.drop_table("product_aggregates")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_updated_at_sku")
        batch_op.drop_index("ix_products_name_sku")

    op.drop_table("products")
