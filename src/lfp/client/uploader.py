"""Parallel, resumable, verified (and deduplicated) upload of one file through the
chunked-upload API."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from lfp.client.calls import ServerCalls
from lfp.client.errors import LfpError
from lfp.client.hashing import file_sha256
from lfp.client.state import ResumeState


def content_digest(data: bytes) -> str:
    """The RFC 9530 Content-Digest header value (sha-256) for `data`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def upload_file(
    client: ServerCalls,
    path: Path,
    *,
    chunk_size: int | None = None,
    parallel: int = 4,
    chunk_digests: bool = True,
    resume: ResumeState | None = None,
    progress: Callable[[int], None] | None = None,
    on_hashed: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
    on_chunks_stored: Callable[[], None] | None = None,
    poll_interval: float = 0.2,
    processor: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Upload `path` and wait until the server has verified it; the file's metadata.

    The whole file's sha256 is computed first (`on_hashed` gets byte counts) and declared
    when the upload is created: the server checks the assembled file against it, and when
    this user already stores those bytes it answers with the file at once, deduplicated,
    and nothing is sent. Chunks go `parallel` at a time, each with its Content-Digest
    (unless `chunk_digests` is False: faster, and corruption is then caught once, by the
    whole-file checksum). With `resume`, an interrupted upload of the same file is
    continued without hashing again: only the chunks the server lacks are sent.
    `progress` gets byte counts as chunks are stored (first the bytes already on the
    server); `on_start` the upload; `on_stage` each step as it begins: "hashing",
    "sending", "verifying", or "deduplicated" (no bytes to send). With `processor` (and
    its `params`) the server queues that job on the file once it is verified; its id is
    the returned file's `job_id`.
    """
    stage = on_stage or (lambda _: None)
    size = path.stat().st_size
    job: dict[str, Any] = {"processor": processor, "params": params} if processor else {}
    key = _resume_key(client, path, chunk_size, job) if resume else ""
    fields = _declared(chunk_size, job)
    if not (resume and resume.get(key)):
        client.check_upload(path.name, size, **fields)
    checksum = f"sha256:{_whole_file_sha256(path, resume, key, stage, on_hashed)}"
    upload = _resume_or_create(client, path, size, resume, key, {**fields, "checksum": checksum})
    if on_start:
        on_start(upload)
    if upload.get("deduplicated"):
        stage("deduplicated")
    elif upload["state"] != "completed" or not upload.get("file_id"):
        stage("sending")
        if progress and upload["bytes_received"]:
            progress(upload["bytes_received"])
        _send_missing(client, path, upload, parallel, chunk_digests, progress)
        if on_chunks_stored:
            on_chunks_stored()
        stage("verifying")
    # Completing a completed upload answers the same file and job again.
    done = client.complete_upload(upload["id"], checksum)
    file = _wait_verified(client, str(done["file_id"]), poll_interval)
    file["job_id"] = done.get("job_id")
    if resume:
        resume.forget(key)
    return file


def _resume_key(
    client: ServerCalls, path: Path, chunk_size: int | None, job: dict[str, Any]
) -> str:
    """What names this upload in the resume state: the file, the server, the job."""
    key = ResumeState.key(path, chunk_size, client.base_url)
    # Another processor is another upload: a resumed one would run the old job.
    return key + f"|{json.dumps(job, sort_keys=True)}" if job else key


def _declared(chunk_size: int | None, job: dict[str, Any]) -> dict[str, Any]:
    """What the upload declares that the server checks up front (`check_upload`): chunk size
    and job, so that a refusal (too large, over the quota, bad params) comes before a long
    hash of the file, not after it."""
    fields: dict[str, Any] = {"chunk_size": chunk_size} if chunk_size else {}
    return {**fields, **job}


def _media_type(path: Path) -> dict[str, Any]:
    """`content_type` as the file's name suggests it, when it suggests one."""
    content_type, _ = mimetypes.guess_type(path.name)
    return {"content_type": content_type} if content_type else {}


def _whole_file_sha256(
    path: Path,
    resume: ResumeState | None,
    key: str,
    stage: Callable[[str], None],
    on_hashed: Callable[[int], None] | None,
) -> str:
    """The file's sha256: remembered by `resume` from an earlier run, or read now."""
    known = resume.sha256(key) if resume else None
    if known:
        return known
    stage("hashing")
    digest = file_sha256(path, on_hashed)
    if resume:
        resume.put(key, sha256=digest)
    return digest


def _resume_or_create(
    client: ServerCalls,
    path: Path,
    size: int,
    resume: ResumeState | None,
    key: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    upload_id = resume.get(key) if resume else None
    if upload_id:
        try:
            upload = client.get_upload(upload_id)
        except LfpError as exc:
            if exc.status != 404:
                raise
        else:
            if upload["state"] in ("open", "completed"):
                return upload
    upload = client.create_upload(path.name, size, **fields, **_media_type(path))
    if resume:
        resume.put(key, upload["id"])
    return upload


def _send_missing(
    client: ServerCalls,
    path: Path,
    upload: dict[str, Any],
    parallel: int,
    chunk_digests: bool,
    progress: Callable[[int], None] | None,
) -> None:
    chunk_size = int(upload["chunk_size"])
    size = int(upload["size"])
    received = set(upload["received"])
    missing = [i for i in range(int(upload["chunk_count"])) if i not in received]
    stop = threading.Event()
    fd = os.open(path, os.O_RDONLY)

    def send(index: int) -> None:
        if stop.is_set():
            return
        length = min(chunk_size, size - index * chunk_size)
        data = os.pread(fd, length, index * chunk_size)
        if len(data) != length:
            raise LfpError(0, f"{path} changed while it was being uploaded")
        digest = content_digest(data) if chunk_digests else None
        client.put_chunk(upload["id"], index, data, digest)
        if progress:
            progress(length)

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="lfp-upload")
    try:
        futures: list[Future[None]] = [pool.submit(send, i) for i in missing]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            future.result()  # the first failure, if any, surfaces here
    except BaseException:
        stop.set()  # Ctrl-C or a failed chunk: send nothing more
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        os.close(fd)


def _wait_verified(client: ServerCalls, file_id: str, poll_interval: float) -> dict[str, Any]:
    delay = poll_interval
    while True:
        file = client.get_file(file_id)
        if file["state"] != "verifying":
            return file
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)
