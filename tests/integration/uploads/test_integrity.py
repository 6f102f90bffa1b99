"""Acknowledged bytes are never altered: a writer that lost its chunk stops before writing
again, and bytes changed in storage after they were acknowledged are caught before the
file is published, and asked for again. On both databases, against a real server."""

from __future__ import annotations

import contextlib
import hashlib
import random
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.helpers import (
    CHUNK,
    MiB,
    Server,
    create_upload,
    download_sha256,
    local_store_only,
    wait_for_file,
    wait_until,
)

DATA = random.Random(9).randbytes(2 * CHUNK)


def put(api: httpx.Client, upload: dict[str, Any], index: int, data: bytes) -> httpx.Response:
    return api.put(f"/uploads/{upload['id']}/chunks/{index}", content=data)


def staging_path(server: Server, upload_id: str) -> Path:
    return server.data_dir / "blobs" / "uploads" / upload_id


def first_bytes(server: Server, upload_id: str) -> bytes:
    with open(staging_path(server, upload_id), "rb") as blob:
        return blob.read(1)


def refusals(server: Server, path: str) -> int:
    return server.log().count(f'"PUT {path} HTTP/1.1" 409')


def test_a_stalled_writer_never_alters_the_chunk_its_retry_stored(
    api: httpx.Client, server: Server, backend: str
) -> None:
    local_store_only(backend)
    upload = create_upload(api, len(DATA))
    path = f"/api/v1/uploads/{upload['id']}/chunks/0"
    url = urlsplit(server.url)
    stale = b"S" * CHUNK
    with socket.create_connection((url.hostname, url.port)) as raw:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {api.headers['Authorization']}\r\n"
            f"Content-Length: {CHUNK}\r\n\r\n"
        )
        raw.sendall(head.encode() + stale[:MiB])  # then the client stalls past its lease
        wait_until(
            lambda: first_bytes(server, upload["id"]) == b"S", 60, "the stalled writer's first MiB"
        )

        def retried() -> bool:
            response = put(api, upload, 0, DATA[:CHUNK])
            assert response.status_code in (204, 409), response.text
            return response.status_code == 204

        wait_until(retried, 60, "the retry to take over the stalled chunk")
        before = refusals(server, path)
        with contextlib.suppress(OSError):  # the server may stop reading once it refused
            raw.sendall(stale[MiB:])  # the stalled writer wakes up and writes on
        wait_until(lambda: refusals(server, path) > before, 60, "the stalled writer to be refused")
    assert put(api, upload, 1, DATA[CHUNK:]).status_code == 204
    done = api.post(f"/uploads/{upload['id']}/complete").json()
    assert wait_for_file(api, done["file_id"])["state"] == "ready"
    assert download_sha256(api, done["file_id"]) == hashlib.sha256(DATA).hexdigest()


def test_a_chunk_damaged_in_storage_is_caught_and_asked_for_again(
    api: httpx.Client, server: Server, backend: str
) -> None:
    local_store_only(backend)
    upload = create_upload(api, len(DATA))
    for index in (0, 1):
        assert put(api, upload, index, DATA[index * CHUNK : (index + 1) * CHUNK]).status_code == 204
    with open(staging_path(server, upload["id"]), "r+b") as blob:
        blob.seek(CHUNK + 123)
        blob.write(b"damage")
    first = api.post(f"/uploads/{upload['id']}/complete").json()
    failed = wait_for_file(api, first["file_id"])
    assert failed["state"] == "failed" and "chunks 1 " in failed["error"]
    reopened = api.get(f"/uploads/{upload['id']}").json()
    assert (reopened["state"], reopened["received"]) == ("open", [0])
    refused = api.post(f"/uploads/{upload['id']}/complete")
    assert refused.status_code == 409 and refused.json()["missing"] == [1]
    assert put(api, upload, 1, DATA[CHUNK:]).status_code == 204
    second = api.post(f"/uploads/{upload['id']}/complete").json()
    assert wait_for_file(api, second["file_id"])["state"] == "ready"
    assert download_sha256(api, second["file_id"]) == hashlib.sha256(DATA).hexdigest()


TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


def test_a_tus_append_damaged_in_storage_rewinds_the_upload_to_the_damage(
    api: httpx.Client, server: Server, backend: str
) -> None:
    local_store_only(backend)
    created = api.post("/tus/", headers={**TUS, "Upload-Length": str(len(DATA))})
    assert created.status_code == 201, created.text
    location = created.headers["Location"].removeprefix("/api/v1")
    upload_id = location.rsplit("/", 1)[1]

    def patch(offset: int, data: bytes) -> httpx.Response:
        headers = {**STREAM, "Upload-Offset": str(offset)}
        return api.patch(location, content=data, headers=headers)

    assert patch(0, DATA[:CHUNK]).status_code == 204
    with open(staging_path(server, upload_id), "r+b") as blob:
        blob.seek(77)
        blob.write(b"damage")
    done = patch(CHUNK, DATA[CHUNK:])
    assert done.status_code == 204, done.text
    failed = wait_for_file(api, done.headers["Lfp-File-Id"])
    assert failed["state"] == "failed" and "offset 0" in failed["error"]
    assert api.head(location, headers=TUS).headers["Upload-Offset"] == "0"
    resent = patch(0, DATA)
    assert resent.status_code == 204, resent.text
    assert wait_for_file(api, resent.headers["Lfp-File-Id"])["state"] == "ready"
    assert download_sha256(api, resent.headers["Lfp-File-Id"]) == hashlib.sha256(DATA).hexdigest()
