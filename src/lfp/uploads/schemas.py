"""Request and response bodies of the native uploads API."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from lfp.errors import Unprocessable
from lfp.limits import current_limits
from lfp.text import dotted, nul_locations
from lfp.uploads.models import UploadState

CHECKSUM_PATTERN = r"^(sha256:[0-9a-fA-F]{64}|md5:[0-9a-fA-F]{32})$"
# A media type as it may appear in a Content-Type header: printable ASCII, type/subtype.
MEDIA_TYPE_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+( *;[ -~]*)?$"


def media_type_or_none(value: str | None) -> str | None:
    """`value` if it can be sent back as a Content-Type header, else None."""
    if value is None or len(value) > 255 or not re.match(MEDIA_TYPE_PATTERN, value):
        return None
    return value


class FilenameTooLong(ValueError):
    """A file name over the request's `max_filename_length`."""


def clean_filename(value: str) -> str:
    """The file's own name: no folders, no control characters, never empty, and no
    longer than the request's `max_filename_length` (`FilenameTooLong`)."""
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    if not name or name in {".", ".."}:
        raise ValueError("filename must name a file")
    limit = current_limits().max_filename_length
    if len(name) > limit:
        raise FilenameTooLong(
            f"filename is {len(name)} characters long; at most {limit} are accepted "
            "(LFP_MAX_FILENAME_LENGTH)"
        )
    return name


def filename_or_default(value: str | None) -> str:
    """The file's own name, or `upload` when the client gave none that names a file;
    `Unprocessable` when it is too long."""
    try:
        return clean_filename(value or "upload")
    except FilenameTooLong as exc:
        raise Unprocessable(str(exc)) from None
    except ValueError:
        return "upload"


def parse_params(text: str | None) -> dict[str, Any] | None:
    """A processor's params sent as JSON text (a query, form field or tus metadata)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise Unprocessable(f"params is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Unprocessable("params must be a JSON object")
    for loc in nul_locations(value, ["params"]):
        raise Unprocessable(f"{dotted(loc)}: must not contain a NUL character (\\u0000)")
    return value


def normalise_checksum(value: str | None) -> str | None:
    """A declared checksum in its one spelling: lower-case algorithm and hex."""
    return value.lower() if value is not None else None


class CreateUpload(BaseModel):
    """What a client declares when it starts an upload."""

    filename: str = Field(min_length=1, max_length=1024)
    size: int | None = Field(
        ge=0, description="Total bytes; null defers the length until `complete`."
    )
    chunk_size: int | None = Field(default=None, gt=0, description="Bytes per chunk.")
    checksum: str | None = Field(
        default=None,
        pattern=CHECKSUM_PATTERN,
        description="Whole-file digest to verify: `sha256:<hex>` or `md5:<hex>`.",
    )
    content_type: str | None = Field(
        default=None, max_length=255, pattern=MEDIA_TYPE_PATTERN, description="e.g. text/csv"
    )
    processor: str | None = Field(default=None, max_length=100)
    params: dict[str, Any] | None = None

    @field_validator("filename")
    @classmethod
    def _clean_filename(cls, value: str) -> str:
        return clean_filename(value)

    @field_validator("checksum")
    @classmethod
    def _lower_checksum(cls, value: str | None) -> str | None:
        return normalise_checksum(value)


class CompleteUpload(BaseModel):
    """Optional facts a client may give at completion."""

    checksum: str | None = Field(default=None, pattern=CHECKSUM_PATTERN)
    size: int | None = Field(default=None, ge=0, description="Declares a deferred length.")

    @field_validator("checksum")
    @classmethod
    def _lower_checksum(cls, value: str | None) -> str | None:
        return normalise_checksum(value)


class UploadOut(BaseModel):
    """An upload and how far it has come."""

    id: uuid.UUID
    filename: str
    content_type: str | None
    size: int | None
    chunk_size: int
    chunk_count: int | None
    received: list[int]
    bytes_received: int
    state: UploadState
    checksum: str | None
    processor: str | None
    params: dict[str, Any] | None
    expires_at: datetime
    created_at: datetime
    file_id: uuid.UUID | None
    job_id: uuid.UUID | None = Field(default=None, description="The job queued on the file.")
    deduplicated: bool = Field(
        default=False,
        description="Completed at creation without any bytes sent: the caller already had a "
        "ready file of this sha-256 and size, and `file_id` is a new file sharing its bytes.",
    )


class CompleteOut(BaseModel):
    """The file an upload became, and the job queued on it, if any."""

    file_id: uuid.UUID
    job_id: uuid.UUID | None = None


class DropzoneOut(BaseModel):
    """Where a Dropzone upload stands after a chunk or a finalize call."""

    upload_id: uuid.UUID | None = Field(
        description="The upload behind the Dropzone file (null for an unchunked file)."
    )
    received: int = Field(description="Chunks stored so far.")
    chunk_count: int
    complete: bool = Field(description="Whether the upload has become a file.")
    file_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
