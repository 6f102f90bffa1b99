"""Tables of uploads in progress and of the chunks they have received."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base, IdMixin


class UploadState(enum.StrEnum):
    """Life of an upload: chunks are accepted only while it is `open`."""

    open = "open"
    completed = "completed"
    aborted = "aborted"
    expired = "expired"
    # A tus partial upload whose bytes went into a final (concatenated) upload.
    concatenated = "concatenated"


class ConcatRole(enum.StrEnum):
    """An upload's part in tus concatenation."""

    partial = "partial"
    final = "final"


class ChunkState(enum.StrEnum):
    """A chunk row is `writing` while a request streams it, `stored` once it is all on disk."""

    writing = "writing"
    stored = "stored"


class Upload(IdMixin, Base):
    """A file on its way in: its declared shape and where its bytes are being written."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("owner_id", "client_ref"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    # None until the client declares it (deferred length: tus, one-shot streams).
    size: Mapped[int | None] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(200))
    processor: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[UploadState] = mapped_column(
        Enum(UploadState, native_enum=False, length=20), default=UploadState.open, index=True
    )
    staging_key: Mapped[str] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # Uploads written in order (tus) instead of in indexed chunks: the bytes received so far.
    # None for chunked uploads; the two ways never mix on one upload.
    offset: Mapped[int | None] = mapped_column(BigInteger)
    # Which request is appending to an in-order upload, and until when without news from it:
    # a lease, so appends are serialised across API servers and a dead server's lock lapses.
    append_claim: Mapped[uuid.UUID | None] = mapped_column()
    append_lease_until: Mapped[datetime | None] = mapped_column()
    # Set by a newer append that wants the lease: the holder stops, keeps what it has and
    # lets go (a client resuming after a dropped connection must not wait for the old one).
    append_stop: Mapped[bool | None] = mapped_column()
    # tus concatenation: a partial upload, or a final one joined from `parts` (upload ids).
    concat: Mapped[ConcatRole | None] = mapped_column(
        Enum(ConcatRole, native_enum=False, length=10)
    )
    parts: Mapped[list[str] | None] = mapped_column(JSON)
    # The client's own metadata, returned as given (tus Upload-Metadata).
    client_metadata: Mapped[str | None] = mapped_column(Text)
    # The client's own name for the upload (Dropzone's dzuuid), unique per owner.
    client_ref: Mapped[str | None] = mapped_column(String(200))
    # Completed at creation by linking a ready file of the owner's with the same bytes
    # (`lfp.uploads.dedup`): no chunk was sent, all count as received.
    deduplicated: Mapped[bool | None] = mapped_column()


class UploadChunk(Base):
    """One received (or being received) chunk of an upload, or one append of an in-order
    upload: the range of bytes one request wrote, and the sha-256 they had."""

    __tablename__ = "upload_chunks"

    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    # The chunk's index; for an in-order upload, the append's place in the sequence.
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Where the range starts in the file (index * chunk_size for indexed chunks).
    start: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[ChunkState] = mapped_column(Enum(ChunkState, native_enum=False, length=20))
    # Computed by the server from the bytes it wrote, whatever the client sent; checked
    # against the stored bytes before the file is published (None only on rows older
    # than that check).
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Which request holds a `writing` chunk, and until when without news from it.
    claim: Mapped[uuid.UUID | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
