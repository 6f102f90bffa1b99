"""The table of stored files."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, IdMixin


class FileState(enum.StrEnum):
    """A file is `verifying` while its digests are computed, then `ready` or `failed`."""

    verifying = "verifying"
    ready = "ready"
    failed = "failed"


class StoredFile(IdMixin, Base):
    """A complete file: where it is stored, its size and its digests."""

    __tablename__ = "files"
    # Finding the owner's copy of an upload's bytes (`lfp.files.blobs.ready_copy`).
    __table_args__ = (Index("ix_files_owner_id_sha256", "owner_id", "sha256"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[FileState] = mapped_column(
        Enum(FileState, native_enum=False, length=20), default=FileState.verifying, index=True
    )
    error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    md5: Mapped[str | None] = mapped_column(String(32))
    # The checksum the client declared ("sha256:<hex>"), compared during verification.
    expected_checksum: Mapped[str | None] = mapped_column(String(200))
    # Where the bytes are while verifying (the upload's staging key) and once published.
    staging_key: Mapped[str | None] = mapped_column(String(300))
    # Several rows may name one blob (an upload of bytes the owner already had): the bytes
    # go with the last of them (`lfp.files.blobs`).
    storage_key: Mapped[str] = mapped_column(String(300), index=True)
    # Which verification holds a `verifying` file, and until when without news from it.
    verify_claim: Mapped[uuid.UUID | None] = mapped_column()
    verify_lease_until: Mapped[datetime | None] = mapped_column()
