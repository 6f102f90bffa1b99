"""dedup: uploads of bytes the owner already holds link to the stored blob

Files sharing a blob are found by storage key (reference counting on delete), a ready
copy by owner and sha-256; an upload completed by linking says so.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as files:
        files.create_index("ix_files_storage_key", ["storage_key"])
        files.create_index("ix_files_owner_id_sha256", ["owner_id", "sha256"])
    with op.batch_alter_table("uploads") as uploads:
        uploads.add_column(sa.Column("deduplicated", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as uploads:
        uploads.drop_column("deduplicated")
    with op.batch_alter_table("files") as files:
        files.drop_index("ix_files_owner_id_sha256")
        files.drop_index("ix_files_storage_key")
