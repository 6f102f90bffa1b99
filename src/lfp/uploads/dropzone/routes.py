"""HTTP routes for Dropzone.js: chunks (or whole files) as forms, and the finalize call.

Every error under the prefix, those raised before the route's body runs (a missing
token's 401, request validation's 422, the request guard's refusals) included, is answered
as application/json with the problem's members plus `error` holding the detail (the app
installs `lfp.http.plain_json.PlainJsonProblems` for it): Dropzone parses only
application/json bodies, and its default error display shows their `error`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from lfp.deps import AppServices, CurrentUser
from lfp.errors import BadRequest
from lfp.http.multipart import MultipartReader, form_request_body
from lfp.uploads.dropzone.fields import DropzoneChunk
from lfp.uploads.dropzone.service import DropzoneUploads
from lfp.uploads.lifecycle import Description
from lfp.uploads.schemas import DropzoneOut, filename_or_default, parse_params

# The app answers every problem under this prefix as Dropzone reads it (see the docstring).
router = APIRouter(prefix="/dropzone", tags=["dropzone"])
_FORMS = MultipartReader()

# A finalize call carries a few fields; nothing bigger is read into memory.
_MAX_FINALIZE_BODY = 64 * 1024

_FORM = form_request_body(
    {
        "dzuuid": {"type": "string"},
        "dzchunkindex": {"type": "integer"},
        "dztotalchunkcount": {"type": "integer"},
        "dzchunkbyteoffset": {"type": "integer"},
        "dzchunksize": {"type": "integer"},
        "dztotalfilesize": {"type": "integer"},
        "dzfilename": {"type": "string"},
        "processor": {"type": "string"},
        "params": {"type": "string", "description": "JSON object"},
    }
)


@contextmanager
def _dropzone_errors() -> Iterator[None]:
    # Problems are rendered for Dropzone by the app (see the docstring); a cut body is one.
    try:
        yield
    except ClientDisconnect:
        raise BadRequest("the connection closed before the whole chunk arrived") from None


@router.post("", response_model=DropzoneOut, openapi_extra=_FORM)
async def receive(request: Request, user: CurrentUser, services: AppServices) -> DropzoneOut:
    """Store one Dropzone chunk, or a whole file Dropzone sent unchunked.

    Fields must come before the `file` part (Dropzone sends them so). A retried chunk is
    harmless; the upload completes when its last missing chunk arrives.
    """
    with _dropzone_errors():
        form = await _FORMS.file_field(request.headers.get("content-type"), request.stream())
        fields = form.fields
        described = Description(
            filename=filename_or_default(fields.get("dzfilename") or form.filename),
            content_type=form.content_type,
            processor=fields.get("processor") or None,
            params=parse_params(fields.get("params") or None),
        )
        chunk = DropzoneChunk.from_fields(fields)
        if chunk is not None:
            return await _dropzone(services).receive(user.id, chunk, form.stream, described)
        done = await services.chunks.upload_stream(user.id, described, form.stream)
        return DropzoneOut(
            upload_id=None,
            received=1,
            chunk_count=1,
            complete=True,
            file_id=done.file_id,
            job_id=done.job_id,
        )


@router.post("/finalize", response_model=DropzoneOut)
async def finalize(
    request: Request,
    user: CurrentUser,
    services: AppServices,
    dzuuid: Annotated[str | None, Query(max_length=100)] = None,
) -> DropzoneOut:
    """Complete a chunked upload (call it from Dropzone's `chunksUploaded` hook).

    `dzuuid` comes as a query parameter, a form field or a JSON member; 409 lists the
    chunks still missing.
    """
    with _dropzone_errors():
        ref = dzuuid or await _dzuuid_from_body(request)
        return await run_in_threadpool(_dropzone(services).finalize, user.id, ref)


def _dropzone(services: AppServices) -> DropzoneUploads:
    # A view over the shared upload services; it holds no state of its own.
    return DropzoneUploads(services.uploads, services.chunks)


async def _dzuuid_from_body(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    if int(request.headers.get("content-length") or 0) > _MAX_FINALIZE_BODY:
        raise BadRequest(f"a finalize body is at most {_MAX_FINALIZE_BODY} bytes")
    value: object = None
    if content_type.startswith("application/json"):
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        value = body.get("dzuuid") if isinstance(body, dict) else None
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("dzuuid")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name the upload: dzuuid as a query parameter, form field or JSON member")
    return value
