"""upload protocols: in-order offsets and append leases (tus), concatenation, client refs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offset", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("append_claim", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("append_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("append_stop", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "concat",
                sa.Enum("partial", "final", name="concatrole", native_enum=False, length=10),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("parts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("client_metadata", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("client_ref", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_uploads_owner_id"), ["owner_id", "client_ref"]
        )


def downgrade() -> None:

    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_uploads_owner_id"), type_="unique")
        for column in (
            "client_ref",
            "client_metadata",
            "parts",
            "concat",
            "append_stop",
            "append_lease_until",
            "append_claim",
            "offset",
        ):
            batch_op.drop_column(column)
