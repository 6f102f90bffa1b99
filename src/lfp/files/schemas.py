"""Response bodies of the files API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from lfp.files.models import FileState


class FileOut(BaseModel):
    """A stored file as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str | None
    size: int
    state: FileState
    error: str | None
    sha256: str | None
    md5: str | None
    created_at: datetime


class UploadedFileOut(FileOut):
    """A file just stored by a one-shot upload, and the job queued on it, if any."""

    job_id: uuid.UUID | None = None
