"""HTTP routes of the jobs API: submit, list, get, cancel, live events and outputs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from lfp.deps import AppServices, CurrentUser
from lfp.http.id_prefix import IdPrefix
from lfp.http.pagination import Page, Paging
from lfp.http.ranges import ranged_response
from lfp.jobs.models import JobState
from lfp.jobs.schemas import JobOut, SubmitJob

router = APIRouter(prefix="/jobs", tags=["jobs"])

# How often the event stream looks at the job, and how long it may stay silent before it
# sends a comment so that proxies keep the connection open.
EVENT_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def submit_job(
    body: SubmitJob, user: CurrentUser, services: AppServices, response: Response
) -> JobOut:
    """Queue a processor on a file; 422 names what is wrong with the params."""
    job = services.jobs.submit(user.id, body.file_id, body.processor, body.params)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", response_model=Page[JobOut])
def list_jobs(
    user: CurrentUser,
    services: AppServices,
    paging: Paging,
    state: JobState | None = None,
    file_id: uuid.UUID | None = None,
    id_prefix: IdPrefix = None,
) -> Page[JobOut]:
    """The caller's jobs, newest first; optionally only one state, one file's, or those
    whose id starts with `id_prefix`."""
    items, total = services.jobs.list_owned(
        user.id,
        page=paging.page,
        per_page=paging.per_page,
        state=state,
        file_id=file_id,
        id_prefix=id_prefix,
    )
    return paging.of([JobOut.of(j) for j in items], total)


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: uuid.UUID, user: CurrentUser, services: AppServices) -> JobOut:
    """The job's state, progress, timings, result, error and outputs."""
    return JobOut.of(services.jobs.get(user.id, job_id))


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: uuid.UUID, user: CurrentUser, services: AppServices) -> JobOut:
    """Cancel: a queued job at once, a running one at its next check; 409 once it ended."""
    return JobOut.of(services.jobs.cancel(user.id, job_id))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(
    job_id: uuid.UUID, request: Request, user: CurrentUser, services: AppServices
) -> StreamingResponse:
    """Server-Sent Events: `state` when the state changes, `progress` as it moves.

    Each event's data is the job as `GET /jobs/{id}` shows it; the stream ends with the
    job's final `state` event.
    """
    first = await run_in_threadpool(services.jobs.get, user.id, job_id)

    async def events() -> AsyncIterator[str]:
        job, last_state, last_progress = first, None, None
        last_sent = time.monotonic()
        yield "retry: 2000\n\n"
        while True:
            progress = (job.progress, job.progress_done)
            if job.state != last_state or progress != last_progress:
                kind = "state" if job.state != last_state else "progress"
                yield f"event: {kind}\ndata: {JobOut.of(job).model_dump_json()}\n\n"
                last_state, last_progress, last_sent = job.state, progress, time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            if job.state.finished or await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL_SECONDS)
            job = await run_in_threadpool(services.jobs.get, user.id, job_id)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{job_id}/outputs/{name}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        416: {"description": "Range not satisfiable"},
    },
)
def download_output(
    job_id: uuid.UUID,
    name: Annotated[str, Path(max_length=200)],
    user: CurrentUser,
    services: AppServices,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """One output's bytes; a single Range is honoured."""
    output = services.jobs.output(user.id, job_id, name)
    return ranged_response(
        lambda start, end: services.jobs.read_output(output, start, end),
        output.size,
        media_type=output.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
        range_header=range_header,
    )
