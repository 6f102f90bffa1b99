"""operators: a role for each user, disabling accounts, and per-user quota overrides

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(
            sa.Column("role", sa.String(length=16), server_default="user", nullable=False)
        )
        users.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        users.add_column(sa.Column("quota_bytes", sa.BigInteger(), nullable=True))
        users.add_column(sa.Column("max_open_uploads", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.drop_column("max_open_uploads")
        users.drop_column("quota_bytes")
        users.drop_column("disabled_at")
        users.drop_column("role")
