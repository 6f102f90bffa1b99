"""chunk ranges: where each stored chunk (or tus append) starts, for the digest check

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start", sa.BigInteger(), nullable=True))
    # Chunks stored before this revision were indexed ones: chunk i starts at i * chunk_size.
    op.execute(
        'UPDATE upload_chunks SET start = "index" * '
        "(SELECT chunk_size FROM uploads WHERE uploads.id = upload_chunks.upload_id)"
    )
    with op.batch_alter_table("upload_chunks", schema=None) as batch_op:
        batch_op.alter_column("start", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_chunks", schema=None) as batch_op:
        batch_op.drop_column("start")
