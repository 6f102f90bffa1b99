"""HTTP routes of the files API: one-shot upload, list, metadata, download, delete."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from lfp.deps import AppServices, CurrentUser
from lfp.errors import BadRequest
from lfp.files.schemas import FileOut, UploadedFileOut
from lfp.http.id_prefix import IdPrefix
from lfp.http.multipart import MultipartReader, form_request_body
from lfp.http.pagination import Page, Paging
from lfp.http.ranges import ranged_response
from lfp.uploads.lifecycle import Description
from lfp.uploads.schemas import parse_params

router = APIRouter(prefix="/files", tags=["files"])
_FORMS = MultipartReader()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadedFileOut,
    openapi_extra=form_request_body(),
)
async def upload_file(
    request: Request,
    user: CurrentUser,
    services: AppServices,
    response: Response,
    processor: Annotated[
        str | None, Query(max_length=100, description="Processor to run on the file.")
    ] = None,
    params: Annotated[
        str | None, Query(max_length=65536, description="The processor's params, a JSON object.")
    ] = None,
) -> UploadedFileOut:
    """Store a file sent as multipart field `file`, streamed; answers once it is verified.

    With `processor` (and `params`), the job is queued too; its id is in `job_id`.
    """
    parsed_params = parse_params(params)
    try:
        field = await _FORMS.file_field(request.headers.get("content-type"), request.stream())
        described = Description(
            filename=field.filename,
            content_type=field.content_type,
            processor=processor,
            params=parsed_params,
        )
        done = await services.chunks.upload_stream(user.id, described, field.stream)
    except ClientDisconnect:
        raise BadRequest("the connection closed before the whole file arrived") from None
    verification = services.verifier.in_progress(done.file_id)
    if verification is not None:
        await asyncio.wrap_future(verification)
    response.headers["Location"] = f"/api/v1/files/{done.file_id}"
    file = await run_in_threadpool(services.files.get, user.id, done.file_id)
    return UploadedFileOut.model_validate(file).model_copy(update={"job_id": done.job_id})


@router.get("", response_model=Page[FileOut])
def list_files(
    user: CurrentUser, services: AppServices, paging: Paging, id_prefix: IdPrefix = None
) -> Page[FileOut]:
    """The caller's files, newest first; optionally only those whose id starts so."""
    items, total = services.files.list_owned(
        user.id, page=paging.page, per_page=paging.per_page, id_prefix=id_prefix
    )
    return paging.of([FileOut.model_validate(f) for f in items], total)


@router.get("/{file_id}", response_model=FileOut)
def get_file(file_id: uuid.UUID, user: CurrentUser, services: AppServices) -> FileOut:
    """A file's metadata, state and digests."""
    return FileOut.model_validate(services.files.get(user.id, file_id))


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_file(file_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Delete the file and its bytes."""
    services.files.delete(user.id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        304: {"description": "Not modified"},
        416: {"description": "Range not satisfiable"},
    },
)
def download_file(
    file_id: uuid.UUID,
    user: CurrentUser,
    services: AppServices,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The file's bytes; one Range, ETag / If-None-Match and If-Range are honoured."""
    file = services.files.ready(user.id, file_id)
    etag = f'"{file.sha256}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file.filename, safe='')}",
    }
    if if_none_match and (if_none_match.strip() == "*" or etag in _etags(if_none_match)):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's partial copy is stale: send it all
    return ranged_response(
        lambda start, end: services.files.read(file, start, end),
        file.size,
        media_type=file.content_type or "application/octet-stream",
        headers=headers,
        range_header=range_header,
    )


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
