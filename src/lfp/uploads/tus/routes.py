"""tus 1.0.0 at /api/v1/tus/: a thin HTTP adapter over the in-order upload service.

Extensions: creation, creation-with-upload, creation-defer-length, expiration, checksum,
termination and concatenation. Every response carries `Tus-Resumable` (TusMiddleware).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from starlette.concurrency import run_in_threadpool

from lfp.config import Settings
from lfp.deps import AppServices, CurrentUser
from lfp.errors import (
    BadRequest,
    LfpError,
    PreconditionFailed,
    TooLarge,
    UnsupportedMediaType,
)
from lfp.uploads.append import InOrderUpload
from lfp.uploads.http_input import body_stream, content_length
from lfp.uploads.models import ConcatRole
from lfp.uploads.tus_headers import (
    CHECKSUM_ALGORITHMS,
    OFFSET_OCTET_STREAM,
    TUS_EXTENSIONS,
    TUS_PATH,
    TUS_VERSION,
    http_date,
    parse_checksum,
    parse_concat_final,
    parse_length,
    parse_metadata,
)
from lfp.uploads.writing import BodyCut


def require_tus_resumable(
    tus_resumable: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """412 unless the request speaks the tus version this server does."""
    if tus_resumable != TUS_VERSION:
        raise PreconditionFailed(
            f"this server speaks tus {TUS_VERSION}; send Tus-Resumable: {TUS_VERSION}"
            + ("" if tus_resumable is None else f" (not {tus_resumable!r})"),
            headers={"Tus-Version": TUS_VERSION},
        )


# OPTIONS needs no Tus-Resumable (nor a token); every other request needs both.
discovery = APIRouter(prefix="/tus")
resumable = APIRouter(prefix="/tus", dependencies=[Depends(require_tus_resumable)])


@discovery.options("", status_code=status.HTTP_200_OK, response_class=Response)
@discovery.options("/", status_code=status.HTTP_200_OK, response_class=Response)
async def discover(services: AppServices) -> Response:
    """What this tus server supports (200, so browsers' CORS checks pass too)."""
    return Response(status_code=status.HTTP_200_OK, headers=_capabilities(services.settings))


@discovery.options("/{upload_id}", status_code=status.HTTP_200_OK, response_class=Response)
async def discover_at_upload(upload_id: str, services: AppServices) -> Response:
    """The same answer as `OPTIONS /tus/`, at an upload's URL."""
    return await discover(services)


@resumable.post("", status_code=status.HTTP_201_CREATED, response_class=Response)
@resumable.post("/", status_code=status.HTTP_201_CREATED, response_class=Response)
async def create(
    request: Request,
    user: CurrentUser,
    services: AppServices,
    upload_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_defer_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_metadata: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_concat: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_checksum: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Create an upload (creation, creation-defer-length, concatenation), optionally with
    its first bytes in the body (creation-with-upload)."""
    size = parse_length("Upload-Length", upload_length)
    described = parse_metadata(upload_metadata)
    appender = services.appender
    concat = (upload_concat or "").strip()
    if concat.startswith("final"):
        part_ids = parse_concat_final(concat)
        upload = await run_in_threadpool(appender.concatenate, user.id, part_ids, described)
        return _created(upload)
    if concat not in ("", "partial"):
        raise BadRequest("Upload-Concat must be `partial` or `final;<upload URLs>`")
    if (size is None) == (upload_defer_length is None):
        raise BadRequest("send exactly one of Upload-Length and Upload-Defer-Length: 1")
    if upload_defer_length is not None and upload_defer_length.strip() != "1":
        raise BadRequest("Upload-Defer-Length must be 1")
    if size is not None and size > services.settings.max_upload_size:
        raise TooLarge(
            f"Upload-Length {size} is more than Tus-Max-Size {services.settings.max_upload_size}"
        )
    checksum = parse_checksum(upload_checksum)
    with_body = _has_body(request)
    if with_body:
        _require_offset_stream(request)
    upload = await run_in_threadpool(
        lambda: appender.create(user.id, described, size=size, partial=concat == "partial")
    )
    if with_body:
        try:
            upload = await appender.append(
                user.id,
                upload.id,
                body_stream(request),
                offset=0,
                length=content_length(request),
                checksum=checksum,
            )
        except BaseException as exc:
            # The upload exists but its first bytes were refused: the client is told the
            # error, not a Location, so nothing may be left behind for it to find.
            with contextlib.suppress(LfpError):
                await run_in_threadpool(appender.terminate, user.id, upload.id)
            if isinstance(exc, BodyCut):
                raise _cut() from None
            raise
    return _created(upload)


@resumable.head("/{upload_id}", response_class=Response)
async def head(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Where the upload stands: its offset, length, metadata and expiry."""
    upload = await run_in_threadpool(services.appender.get, user.id, upload_id)
    headers = _state_headers(upload)
    headers["Cache-Control"] = "no-store"
    if upload.client_metadata:
        headers["Upload-Metadata"] = upload.client_metadata
    if upload.concat == ConcatRole.partial:
        headers["Upload-Concat"] = "partial"
    elif upload.concat == ConcatRole.final:
        urls = " ".join(f"{TUS_PATH}/{part}" for part in upload.parts)
        headers["Upload-Concat"] = f"final;{urls}"
    return Response(status_code=status.HTTP_200_OK, headers=headers)


@resumable.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def patch(
    upload_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    services: AppServices,
    upload_offset: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_checksum: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Append the body at Upload-Offset; 409 when the offset is not where the upload stands."""
    _require_offset_stream(request)
    offset = parse_length("Upload-Offset", upload_offset)
    if offset is None:
        raise BadRequest("Upload-Offset is required")
    try:
        upload = await services.appender.append(
            user.id,
            upload_id,
            body_stream(request),
            offset=offset,
            length=content_length(request),
            declared_size=parse_length("Upload-Length", upload_length),
            checksum=parse_checksum(upload_checksum),
        )
    except BodyCut:
        raise _cut() from None
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_state_headers(upload))


@resumable.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def terminate(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Give the upload up and reclaim its space (termination)."""
    await run_in_threadpool(services.appender.terminate, user.id, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router = APIRouter(tags=["tus"])
router.include_router(discovery)
router.include_router(resumable)


def _capabilities(settings: Settings) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(TUS_EXTENSIONS),
        "Tus-Max-Size": str(settings.max_upload_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def _created(upload: InOrderUpload) -> Response:
    headers = _state_headers(upload)
    headers["Location"] = f"{TUS_PATH}/{upload.id}"
    return Response(status_code=status.HTTP_201_CREATED, headers=headers)


def _state_headers(upload: InOrderUpload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.size is not None:
        headers["Upload-Length"] = str(upload.size)
    else:
        headers["Upload-Defer-Length"] = "1"
    if upload.file_id is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    else:
        headers["Lfp-File-Id"] = str(upload.file_id)
    if upload.job_id is not None:
        headers["Lfp-Job-Id"] = str(upload.job_id)
    return headers


def _cut() -> BadRequest:
    # Nobody reads this answer (the client has gone); it keeps the cut out of the error log.
    return BadRequest("the connection closed before the whole body arrived")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


def _require_offset_stream(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != OFFSET_OCTET_STREAM:
        raise UnsupportedMediaType(
            f"a tus body must be sent as Content-Type: {OFFSET_OCTET_STREAM}"
            + (f", not {content_type!r}" if content_type else "")
        )
