"""Two `lfp serve` and two `lfp worker` on one PostgreSQL, one Redis and one S3 endpoint.

One upload's chunks alternate between the servers, a tus upload's PATCHes move between
them, one server is killed (-9) in the middle of a chunk and the upload finishes through
the other; verification and a job complete on the survivors, and the downloaded bytes
have the sha-256 that was sent.
"""

from __future__ import annotations

import hashlib
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import BASE_ENV, s3_env
from tests.helpers import (
    CHUNK,
    PASSWORD,
    Server,
    create_upload,
    download_sha256,
    wait_for_file,
    wait_for_job,
    wait_until,
)
from tests.s3 import MotoServer
from tests.workers import Worker

DATA = random.Random(10).randbytes(4 * CHUNK + 12345)
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def cluster_env(make_database: Callable[[str], str | None], moto: MotoServer) -> dict[str, str]:
    """What every process of the installation shares."""
    database = make_database("postgres")
    assert database is not None
    return {
        **BASE_ENV,
        **s3_env(moto),
        "LFP_DATABASE_URL": database,
        "LFP_BROKER_URL": "redis://127.0.0.1:6379/7",
        "LFP_JOB_QUEUE": f"lfp-many-{uuid.uuid4().hex[:8]}",
        "LFP_JWT_SECRET": uuid.uuid4().hex,
    }


@pytest.fixture
def servers(tmp_path: Path, cluster_env: dict[str, str]) -> Iterator[list[Server]]:
    """Two API servers, each with its own data dir (they share no disk)."""
    started = [Server(tmp_path / f"server-{n}", cluster_env) for n in range(2)]
    for server in started:
        server.start()
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def workers(tmp_path: Path, cluster_env: dict[str, str]) -> Iterator[list[Worker]]:
    """Two workers on one host: each must get a Celery node name of its own."""
    started = [Worker(tmp_path / f"worker-{n}", cluster_env, name=f"worker-{n}") for n in range(2)]
    for worker in started:
        worker.start()
    yield started
    for worker in started:
        worker.stop()


def client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def sign_in(server: Server) -> str:
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{server.url}/api/v1/auth/signup", json=body).status_code == 201
    answer = httpx.post(f"{server.url}/api/v1/auth/login", json=body)
    return str(answer.json()["access_token"])


def put_chunk(api: httpx.Client, upload_id: str, index: int) -> None:
    """Send chunk `index`, again while another request still holds it (a dead server's)."""
    body = DATA[index * CHUNK : (index + 1) * CHUNK]

    def stored() -> bool:
        answer = api.put(f"/uploads/{upload_id}/chunks/{index}", content=body)
        assert answer.status_code in (200, 201, 204, 409, 423), answer.text
        return answer.status_code in (200, 201, 204)

    wait_until(stored, 60, f"chunk {index} to be stored")


def start_chunk_and_stall(server: Server, token: str, upload_id: str, index: int) -> socket.socket:
    """A PUT of chunk `index` that sends half its body and then waits (as the server dies)."""
    url = urlsplit(server.url)
    raw = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80))
    head = (
        f"PUT /api/v1/uploads/{upload_id}/chunks/{index} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {CHUNK}\r\n\r\n"
    )
    raw.sendall(head.encode() + DATA[index * CHUNK : index * CHUNK + CHUNK // 2])
    return raw


@pytest.mark.slow
def test_an_upload_spread_over_two_servers_survives_one_of_them(
    servers: list[Server], workers: list[Worker]
) -> None:
    token = sign_in(servers[0])
    first, second = (client(server, token) for server in servers)
    with first, second:
        # tus: the PATCHes of one upload go to one server, then the other, then back.
        tus_data = DATA[: 2 * CHUNK + 7]
        created = first.post("/tus/", headers={**TUS, "Upload-Length": str(len(tus_data))})
        assert created.status_code == 201, created.text
        tus_path = urlsplit(created.headers["Location"]).path.removeprefix("/api/v1")
        offset = 0
        for api, length in [(first, CHUNK - 1), (second, CHUNK + 3), (first, len(tus_data))]:
            piece = tus_data[offset : offset + length]
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            answer = api.patch(tus_path, content=piece, headers=headers)
            assert answer.status_code == 204, answer.text
            offset += len(piece)
        tus_file = second.head(tus_path, headers=TUS)
        assert tus_file.headers["Upload-Offset"] == str(len(tus_data))

        # Native chunks alternate between the servers; the first dies in the middle of one.
        upload = create_upload(first, len(DATA), processor="hash")
        put_chunk(first, upload["id"], 0)
        put_chunk(second, upload["id"], 1)
        put_chunk(first, upload["id"], 2)
        stalled = start_chunk_and_stall(servers[0], token, upload["id"], 3)
        servers[0].kill()
        stalled.close()
        put_chunk(second, upload["id"], 4)
        put_chunk(second, upload["id"], 3)  # taken over once the dead request's lease lapses
        done = second.post(f"/uploads/{upload['id']}/complete")
        assert done.status_code == 202, done.text
        file_id, job_id = done.json()["file_id"], done.json()["job_id"]

        file = wait_for_file(second, file_id)
        assert file["state"] == "ready", file
        assert file["sha256"] == hashlib.sha256(DATA).hexdigest()
        assert download_sha256(second, file_id) == file["sha256"]
        job = wait_for_job(second, job_id)
        assert job["state"] == "succeeded", job
        assert job["result"]["digests"]["sha256"] == file["sha256"]
