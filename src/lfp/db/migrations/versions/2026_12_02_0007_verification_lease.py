"""verification lease: which verifier holds a verifying file, and until when

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verify_claim", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("verify_lease_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("verify_lease_until")
        batch_op.drop_column("verify_claim")
