"""Request and response bodies of the jobs and processors API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from lfp.jobs.models import Job, JobState


class SubmitJob(BaseModel):
    """A processor to run on a stored file."""

    file_id: uuid.UUID
    processor: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] | None = None


class OutputOut(BaseModel):
    """A file a job produced, downloadable at `url`."""

    name: str
    size: int
    content_type: str
    url: str


class JobOut(BaseModel):
    """A job as the API shows it: state, progress, timings, result, error, outputs."""

    id: uuid.UUID
    file_id: uuid.UUID
    processor: str
    params: dict[str, Any]
    state: JobState
    progress: float = Field(description="0..1")
    progress_done: int | None = Field(description="Units processed so far.")
    progress_total: int | None
    progress_unit: str | None = Field(description="What progress counts: bytes or rows.")
    cancel_requested: bool
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    processing_seconds: float | None = Field(description="From start to end of the last run.")
    upload_seconds: float | None = Field(description="How long the input's upload took.")
    outputs: list[OutputOut]

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The view of `job`."""
        processing = None
        if job.started_at and job.finished_at and job.state.finished:
            processing = (job.finished_at - job.started_at).total_seconds()
        return cls(
            id=job.id,
            file_id=job.file_id,
            processor=job.processor,
            params=job.params,
            state=job.state,
            progress=job.progress,
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            progress_unit=job.progress_unit,
            cancel_requested=job.cancel_requested,
            attempts=job.attempts,
            result=job.result,
            error=job.error,
            queued_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            processing_seconds=processing,
            upload_seconds=job.upload_seconds,
            outputs=[
                OutputOut(
                    name=o.name,
                    size=o.size,
                    content_type=o.content_type,
                    url=f"/api/v1/jobs/{job.id}/outputs/{quote(o.name, safe='')}",
                )
                for o in job.outputs
            ],
        )


class ProcessorOut(BaseModel):
    """A processor this server offers and the JSON schema of its params."""

    name: str
    description: str
    params_schema: dict[str, Any]
