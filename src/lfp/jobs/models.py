"""Tables of jobs and of the outputs they published."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lfp.db.base import Base, IdMixin


class JobState(enum.StrEnum):
    """Life of a job; the last three are final."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job has ended (and will never change again)."""
        return self in FINISHED


FINISHED = frozenset({JobState.succeeded, JobState.failed, JobState.cancelled})


class Job(IdMixin, Base):
    """One run of a processor over a file; `created_at` is when it was queued."""

    __tablename__ = "jobs"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), index=True
    )
    processor: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=20), default=JobState.queued, index=True
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_done: Mapped[int | None] = mapped_column(BigInteger)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    progress_unit: Mapped[str | None] = mapped_column(String(20))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Starts so far; a job whose worker keeps dying is failed after job_max_attempts.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Which run holds a `running` job, and until when without news from it.
    claim: Mapped[uuid.UUID | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    # When the job was last handed to the executor (None: waiting for its file), and how
    # often it was: resends of a job that waits long back off.
    enqueued_at: Mapped[datetime | None] = mapped_column()
    dispatches: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # How long the upload of the input took, from its first byte to its completion.
    upload_seconds: Mapped[float | None] = mapped_column(Float)

    outputs: Mapped[list[JobOutput]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="JobOutput.name",
    )


class JobOutput(Base):
    """A named result file a job published."""

    __tablename__ = "job_outputs"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
