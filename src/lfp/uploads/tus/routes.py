"""tus 1.0.0 routes: a thin HTTP adapter over the in-order upload services.

Extensions: creation, creation-with-upload, creation-defer-length, expiration, checksum,
termination and concatenation. Every response carries `Tus-Resumable` (TusMiddleware).
The services' errors become tus's statuses here: a digest mismatch is 460, an upload held
by a request that will not stop 423, an offset mismatch 409 with the offset.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from starlette.concurrency import run_in_threadpool

from lfp.config import Settings
from lfp.deps import AppServices, CurrentUser
from lfp.errors import BadRequest, BodyCut, Busy, DigestMismatch, LfpError, OffsetMismatch, TooLarge
from lfp.http.body import body_stream, content_length
from lfp.http.problems import HttpProblem
from lfp.uploads.appends import AppendRequest
from lfp.uploads.models import ConcatRole
from lfp.uploads.tus.headers import (
    CHECKSUM_ALGORITHMS,
    OFFSET_OCTET_STREAM,
    TUS_EXTENSIONS,
    TUS_PATH,
    TUS_VERSION,
    http_date,
    parse_checksum,
    parse_concat_final,
    parse_length,
)
from lfp.uploads.tus.metadata import parse_metadata
from lfp.uploads.views import InOrderUpload


def require_tus_resumable(
    tus_resumable: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """412 unless the request speaks the tus version this server does."""
    if tus_resumable != TUS_VERSION:
        raise HttpProblem(
            412,
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


@contextlib.contextmanager
def tus_errors() -> Iterator[None]:
    """The services' errors as tus answers them (the rest as the native API does)."""
    try:
        yield
    except DigestMismatch as exc:
        raise HttpProblem(
            460, f"the body's {exc.algorithm} does not match Upload-Checksum; nothing was appended"
        ) from None
    except Busy as exc:
        raise HttpProblem.of(exc, 423) from None
    except OffsetMismatch as exc:
        raise HttpProblem(
            409,
            f"Upload-Offset {exc.sent} is not where the upload stands ({exc.expected}); "
            "ask with HEAD and resume from there",
            extra=exc.extra,
        ) from None
    except BodyCut:
        # Nobody reads this answer (the client has gone); it keeps the cut out of the log.
        raise BadRequest("the connection closed before the whole body arrived") from None


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
    described = parse_metadata(upload_metadata)
    concat = (upload_concat or "").strip()
    if concat.startswith("final"):
        part_ids = parse_concat_final(concat)
        with tus_errors():
            final = await run_in_threadpool(
                services.concat.concatenate, user.id, part_ids, described
            )
        return _created(final)
    if concat not in ("", "partial"):
        raise BadRequest("Upload-Concat must be `partial` or `final;<upload URLs>`")
    size = _creation_length(services.settings, upload_length, upload_defer_length)
    checksum = parse_checksum(upload_checksum)
    with_body = _has_body(request)
    if with_body:
        _require_offset_stream(request)
    role = ConcatRole.partial if concat == "partial" else None
    upload = await run_in_threadpool(
        lambda: services.appends.create(user.id, described, size=size, concat=role)
    )
    if with_body:
        try:
            with tus_errors():
                upload = await services.appends.append(
                    AppendRequest(
                        user.id, upload.id, 0, length=content_length(request), checksum=checksum
                    ),
                    body_stream(request),
                )
        except BaseException:
            # The upload exists but its first bytes were refused: the client is told the
            # error, not a Location, so nothing may be left behind for it to find.
            with contextlib.suppress(LfpError):
                await run_in_threadpool(services.appends.terminate, user.id, upload.id)
            raise
    return _created(upload)


def _creation_length(
    settings: Settings, upload_length: str | None, upload_defer_length: str | None
) -> int | None:
    size = parse_length("Upload-Length", upload_length)
    if (size is None) == (upload_defer_length is None):
        raise BadRequest("send exactly one of Upload-Length and Upload-Defer-Length: 1")
    if upload_defer_length is not None and upload_defer_length.strip() != "1":
        raise BadRequest("Upload-Defer-Length must be 1")
    if size is not None and size > settings.max_upload_size:
        raise TooLarge(f"Upload-Length {size} is more than Tus-Max-Size {settings.max_upload_size}")
    return size


@resumable.head("/{upload_id}", response_class=Response)
def head(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Where the upload stands: its offset, length, metadata and expiry."""
    upload = services.appends.get(user.id, upload_id)
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
    wanted = AppendRequest(
        user.id,
        upload_id,
        offset,
        length=content_length(request),
        declared_size=parse_length("Upload-Length", upload_length),
        checksum=parse_checksum(upload_checksum),
    )
    with tus_errors():
        upload = await services.appends.append(wanted, body_stream(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_state_headers(upload))


@resumable.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def terminate(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Give the upload up and reclaim its space (termination)."""
    services.appends.terminate(user.id, upload_id)
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


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


def _require_offset_stream(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != OFFSET_OCTET_STREAM:
        raise HttpProblem(
            415,
            f"a tus body must be sent as Content-Type: {OFFSET_OCTET_STREAM}"
            + (f", not {content_type!r}" if content_type else ""),
        )
