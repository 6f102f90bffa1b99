"""HTTP routes of the native chunked-upload API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from starlette.requests import ClientDisconnect

from lfp.deps import AppServices, CurrentUser
from lfp.errors import BadRequest, DigestMismatch, Unprocessable
from lfp.http.body import content_length
from lfp.http.content_digest import MalformedDigest, parse_sha256
from lfp.uploads.dedup import create_linked
from lfp.uploads.lifecycle import Description
from lfp.uploads.schemas import CompleteOut, CompleteUpload, CreateUpload, UploadOut

router = APIRouter(prefix="/uploads", tags=["uploads"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UploadOut)
def create_upload(
    body: CreateUpload, user: CurrentUser, services: AppServices, response: Response
) -> UploadOut:
    """Start a chunked upload; one of bytes the caller already holds (same size and
    `sha256:` checksum as one of their ready files) is completed at once, nothing sent."""
    described = Description(
        filename=body.filename,
        content_type=body.content_type,
        checksum=body.checksum,
        processor=body.processor,
        params=body.params,
    )
    upload = create_linked(
        services.uploads, user.id, described, size=body.size, chunk_size=body.chunk_size
    ) or services.uploads.create(user.id, described, size=body.size, chunk_size=body.chunk_size)
    response.headers["Location"] = f"/api/v1/uploads/{upload.id}"
    return upload


@router.post("/check", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def check_upload(body: CreateUpload, user: CurrentUser, services: AppServices) -> Response:
    """204 when `POST /uploads` with this body would be accepted now; otherwise the problem
    it would answer (params, size, chunk size, quota, free space). Creates nothing."""
    described = Description(filename=body.filename, processor=body.processor, params=body.params)
    services.uploads.check(user.id, described, size=body.size, chunk_size=body.chunk_size)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> UploadOut:
    """The upload's state and the chunks received so far."""
    return services.uploads.get(user.id, upload_id)


@router.put(
    "/{upload_id}/chunks/{index}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_chunk(
    upload_id: uuid.UUID,
    index: int,
    request: Request,
    user: CurrentUser,
    services: AppServices,
    content_digest: Annotated[
        str | None, Header(description="RFC 9530 digest, e.g. sha-256=:<base64>:")
    ] = None,
) -> Response:
    """Store one chunk, streamed; idempotent for identical bytes."""
    try:
        expected = parse_sha256(content_digest) if content_digest else None
    except MalformedDigest as exc:
        raise Unprocessable(f"Content-Digest: {exc}") from None
    length = content_length(request)
    try:
        await services.chunks.put_chunk(
            user.id, upload_id, index, request.stream(), length=length, expected_sha256=expected
        )
    except DigestMismatch:
        raise DigestMismatch(
            "Content-Digest does not match the chunk's bytes", algorithm="sha-256"
        ) from None
    except ClientDisconnect:
        raise BadRequest("the connection closed before the whole chunk arrived") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{upload_id}/complete", status_code=status.HTTP_202_ACCEPTED, response_model=CompleteOut
)
def complete_upload(
    upload_id: uuid.UUID,
    user: CurrentUser,
    services: AppServices,
    body: CompleteUpload | None = None,
) -> CompleteOut:
    """Close the upload; the file is verified in the background."""
    body = body or CompleteUpload()
    return services.uploads.complete(user.id, upload_id, checksum=body.checksum, size=body.size)


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def abort_upload(upload_id: uuid.UUID, user: CurrentUser, services: AppServices) -> Response:
    """Abort the upload and reclaim its space."""
    services.uploads.abort(user.id, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
