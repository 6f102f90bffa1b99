"""tus 1.0.0 against real servers: a real tus client (tuspy), concatenation, every error
status, expiry, locking across servers, CORS; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from tusclient import client as tus_client

from tests.helpers import (
    MiB,
    Server,
    download_sha256,
    file_sha256,
    local_store_only,
    random_file,
    sign_up,
    wait_for_file,
    wait_for_job,
    wait_until,
)

TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**pairs: str) -> str:
    """An Upload-Metadata header."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def path_of(location: str) -> str:
    """A Location header as a path under the api client's /api/v1 base."""
    return urlsplit(location).path.removeprefix("/api/v1")


def full(path: str) -> str:
    """The path of an upload URL as the server gives it (under /api/v1)."""
    return f"/api/v1{path}"


def absolute(api: httpx.Client, path: str) -> str:
    """The absolute URL of an upload path."""
    return str(api.base_url).rstrip("/") + path


def create(api: httpx.Client, length: int | None, **headers: str) -> str:
    """A new tus upload; its path."""
    sized = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
    response = api.post("/tus/", headers={**TUS, **sized, **headers})
    assert response.status_code == 201, response.text
    return path_of(response.headers["Location"])


def patch(api: httpx.Client, path: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    """One PATCH of `data` at `offset`."""
    return api.patch(
        path, content=data, headers={**STREAM, "Upload-Offset": str(offset), **headers}
    )


def offset_of(api: httpx.Client, path: str) -> int:
    """The upload's offset as HEAD reports it."""
    response = api.head(path, headers=TUS)
    assert response.status_code == 200, response.status_code
    return int(response.headers["Upload-Offset"])


def checksum(algorithm: str, data: bytes) -> str:
    """An Upload-Checksum header."""
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def raw_request(server: Server, api: httpx.Client, head: str, body: bytes) -> socket.socket:
    """A socket that has sent `head` (request line and headers) and `body` so far."""
    url = urlsplit(server.url)
    raw = socket.create_connection((url.hostname, url.port))
    auth = api.headers["Authorization"]
    raw.sendall(f"{head}\r\nHost: {url.netloc}\r\nAuthorization: {auth}\r\n\r\n".encode() + body)
    return raw


def upload_row(server: Server, upload_id: str) -> tuple[Any, ...]:
    """(offset, append_claim) of an upload, read from the server's database itself."""
    query = 'SELECT "offset", append_claim FROM uploads WHERE id = {}'
    database = server.env.get("LFP_DATABASE_URL")
    if database:
        with psycopg.connect(database.replace("+psycopg", "")) as connection:
            row = connection.execute(query.format("%s"), (upload_id,)).fetchone()
    else:
        with sqlite3.connect(server.data_dir / "lfp.db") as connection:
            row = connection.execute(query.format("?"), (upload_id.replace("-", ""),)).fetchone()
    assert row is not None
    return tuple(row)


# -- a real client ---------------------------------------------------------------------


def test_tuspy_uploads_with_checksums_and_resumes_after_the_server_is_killed(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    size = 64 * MiB + 12345
    source = random_file(tmp_path / "big.bin", size, seed=21)
    # tuspy opens a path anew for every request and never closes it: it gets a stream.
    with sign_up(server.url) as api, open(source, "rb") as stream:
        token = api.headers["Authorization"]
        tus = tus_client.TusClient(f"{server.url}/api/v1/tus/", headers={"Authorization": token})
        uploader = tus.uploader(
            file_stream=stream,
            chunk_size=2 * MiB,
            upload_checksum=True,
            metadata={"filename": "big.bin", "filetype": "application/octet-stream"},
        )
        uploader.upload(stop_at=20 * MiB)
        url = uploader.url
        assert url is not None
        path = path_of(url)
        assert offset_of(api, path) == 20 * MiB

        # The next PATCH is half sent when the server dies.
        with open(source, "rb") as f:
            f.seek(20 * MiB)
            half = f.read(MiB)
        raw = raw_request(
            server,
            api,
            f"PATCH /api/v1{path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {20 * MiB}\r\n"
            f"Content-Length: {2 * MiB}",
            half,
        )
        server.kill()
        raw.close()
        server.start()

        resumed = tus.uploader(
            file_stream=stream, url=url, chunk_size=2 * MiB, upload_checksum=True
        )
        assert resumed.offset == 20 * MiB
        resumed.upload()

        head = api.head(path, headers=TUS)
        assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(size)
        file = wait_for_file(api, head.headers["Lfp-File-Id"])
        assert file["state"] == "ready"
        assert file["filename"] == "big.bin"
        assert file["sha256"] == file_sha256(source)
        assert download_sha256(api, file["id"]) == file["sha256"]


def test_an_interrupted_patch_keeps_the_bytes_that_arrived(
    server: Server, api: httpx.Client
) -> None:
    data = os.urandom(3 * MiB)
    path = create(api, len(data))
    raw = raw_request(
        server,
        api,
        f"PATCH /api/v1{path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        f"Content-Length: {len(data)}",
        data[:MiB],
    )
    raw.close()
    wait_until(lambda: offset_of(api, path) == MiB, 30, "the arrived bytes to be recorded")

    # With a checksum, a cut body keeps nothing: the next PATCH starts where the last ended.
    raw = raw_request(
        server,
        api,
        f"PATCH /api/v1{path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {MiB}\r\n"
        f"Upload-Checksum: {checksum('sha1', data[MiB:])}\r\nContent-Length: {2 * MiB}",
        data[MiB : MiB + MiB // 2],
    )
    raw.close()
    response = patch(api, path, MiB, data[MiB:], **{"Upload-Checksum": checksum("md5", data[MiB:])})
    assert response.status_code == 204, response.text
    file = wait_for_file(api, response.headers["Lfp-File-Id"])
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


# -- the protocol, step by step ----------------------------------------------------------


def test_options_announces_the_server_without_auth(server: Server) -> None:
    for path in ("/api/v1/tus/", "/api/v1/tus"):
        response = httpx.options(f"{server.url}{path}")
        assert response.status_code == 200
        assert response.headers["Tus-Version"] == "1.0.0"
        assert response.headers["Tus-Resumable"] == "1.0.0"
        assert set(response.headers["Tus-Extension"].split(",")) == {
            "creation",
            "creation-with-upload",
            "creation-defer-length",
            "expiration",
            "checksum",
            "termination",
            "concatenation",
        }
        assert response.headers["Tus-Max-Size"] == str(2 * 1024**3)
        assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {
            "sha1",
            "md5",
            "sha256",
        }


def test_upload_with_metadata_processor_and_deferred_length(api: httpx.Client) -> None:
    data = b"Song,Date,Number of Plays\n" * 1000
    path = create(
        api,
        None,
        **{
            "Upload-Metadata": metadata(
                filename="plays.csv",
                filetype="text/csv",
                processor="hash",
                params=json.dumps({"algorithms": ["sha1"]}),
            )
        },
    )
    head = api.head(path, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Defer-Length"] == "1"
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Cache-Control"] == "no-store"
    assert "Upload-Length" not in head.headers
    assert head.headers["Upload-Metadata"].startswith("filename ")
    assert "Upload-Expires" in head.headers

    assert patch(api, path, 0, data[:1000]).status_code == 204
    done = patch(api, path, 1000, data[1000:], **{"Upload-Length": str(len(data))})
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == done.headers["Upload-Length"] == str(len(data))
    file = wait_for_file(api, done.headers["Lfp-File-Id"])
    assert (file["filename"], file["content_type"]) == ("plays.csv", "text/csv")
    job = wait_for_job(api, done.headers["Lfp-Job-Id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["digests"] == {"sha1": hashlib.sha1(data).hexdigest()}
    # The same upload through the native API.
    upload = api.get(f"/uploads/{path.rsplit('/', 1)[1]}").json()
    assert upload["state"] == "completed"
    assert upload["bytes_received"] == len(data)
    assert (upload["chunk_count"], upload["received"]) == (None, [])
    assert upload["file_id"] == done.headers["Lfp-File-Id"]


def test_creation_with_upload_and_method_override(api: httpx.Client) -> None:
    data = os.urandom(100_000)
    wrong_type = api.post("/tus/", content=data, headers={**TUS, "Upload-Length": str(len(data))})
    assert wrong_type.status_code == 415
    refused = api.post(
        "/tus/",
        content=data,
        headers={**STREAM, "Upload-Length": str(len(data)), "Upload-Checksum": "md5 AAAA"},
    )
    assert refused.status_code == 460
    assert "Location" not in refused.headers
    response = api.post(
        "/tus/",
        content=data[:40_000],
        headers={
            **STREAM,
            "Upload-Length": str(len(data)),
            "Upload-Checksum": checksum("sha256", data[:40_000]),
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Offset"] == "40000"
    path = path_of(response.headers["Location"])
    override = api.post(
        path,
        content=data[40_000:],
        headers={**STREAM, "Upload-Offset": "40000", "X-HTTP-Method-Override": "PATCH"},
    )
    assert override.status_code == 204, override.text
    file = wait_for_file(api, override.headers["Lfp-File-Id"])
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


def test_empty_upload_is_a_file_at_once(api: httpx.Client) -> None:
    response = api.post("/tus/", headers={**TUS, "Upload-Length": "0"})
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "0"
    file = wait_for_file(api, response.headers["Lfp-File-Id"])
    assert (file["state"], file["size"]) == ("ready", 0)


def test_protocol_errors(api: httpx.Client, other_api: httpx.Client) -> None:
    data = os.urandom(50_000)
    path = create(api, len(data))

    no_version = api.head(path)
    assert (no_version.status_code, no_version.headers["Tus-Version"]) == (412, "1.0.0")
    old = api.post("/tus/", headers={"Tus-Resumable": "0.2.2", "Upload-Length": "5"})
    assert old.status_code == 412
    assert "1.0.0" in old.json()["detail"]

    wrong_type = api.patch(
        path,
        content=data,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
    )
    assert wrong_type.status_code == 415
    assert "application/offset+octet-stream" in wrong_type.json()["detail"]

    assert patch(api, path, 0, data[:10_000]).status_code == 204
    mismatch = patch(api, path, 0, data[:10_000])
    assert mismatch.status_code == 409
    assert mismatch.json()["offset"] == 10_000
    assert patch(api, path, 12_345, data[12_345:]).status_code == 409
    missing_offset = api.patch(path, content=b"x", headers=STREAM)
    assert missing_offset.status_code == 400

    bad = patch(api, path, 10_000, data[10_000:], **{"Upload-Checksum": checksum("sha1", b"x")})
    assert bad.status_code == 460
    assert "nothing was appended" in bad.json()["detail"]
    unknown = patch(api, path, 10_000, data[10_000:], **{"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400
    assert offset_of(api, path) == 10_000

    too_long = patch(api, path, 10_000, data[10_000:] + b"more")
    assert too_long.status_code == 413
    assert offset_of(api, path) == 10_000

    too_big = api.post("/tus/", headers={**TUS, "Upload-Length": str(2 * 1024**3 + 1)})
    assert too_big.status_code == 413
    assert "Tus-Max-Size" in too_big.json()["detail"]
    neither = api.post("/tus/", headers=TUS)
    assert neither.status_code == 400
    both = api.post("/tus/", headers={**TUS, "Upload-Length": "5", "Upload-Defer-Length": "1"})
    assert both.status_code == 400
    bad_meta = api.post(
        "/tus/", headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "filename !!!"}
    )
    assert bad_meta.status_code == 400
    bad_processor = api.post(
        "/tus/",
        headers={**TUS, "Upload-Length": "5", "Upload-Metadata": metadata(processor="nope")},
    )
    assert bad_processor.status_code == 422

    assert other_api.head(path, headers=TUS).status_code == 404
    assert patch(other_api, path, 10_000, data[10_000:]).status_code == 404
    assert other_api.delete(path, headers=TUS).status_code == 404
    assert api.head("/tus/00000000-0000-4000-8000-000000000000", headers=TUS).status_code == 404
    assert httpx.head(absolute(api, path), headers=TUS).status_code == 401

    assert api.delete(path, headers=TUS).status_code == 204
    assert api.head(path, headers=TUS).status_code == 410
    assert patch(api, path, 10_000, data[10_000:]).status_code == 410

    chunked = create_native(api)
    assert api.head(f"/tus/{chunked}", headers=TUS).status_code == 404


def create_native(api: httpx.Client) -> str:
    """A native (indexed-chunk) upload's id."""
    response = api.post("/uploads", json={"filename": "a.bin", "size": 10})
    assert response.status_code == 201
    upload_id: str = response.json()["id"]
    return upload_id


# -- concatenation -------------------------------------------------------------------------


def test_parallel_partial_uploads_join_into_one_file(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    parts = [os.urandom(size) for size in (3 * MiB, 2 * MiB + 7, 1)]
    paths = [create(api, len(part), **{"Upload-Concat": "partial"}) for part in parts]

    def send(path: str, data: bytes) -> None:
        for offset in range(0, len(data), MiB):
            response = patch(api, path, offset, data[offset : offset + MiB])
            assert response.status_code == 204, response.text

    with ThreadPoolExecutor(len(parts)) as pool:
        list(pool.map(send, paths, parts))
    head = api.head(paths[0], headers=TUS)
    assert head.headers["Upload-Concat"] == "partial"
    assert "Lfp-File-Id" not in head.headers  # a partial upload is not a file

    assert (
        other_api.post(
            "/tus/", headers={**TUS, "Upload-Concat": "final;" + " ".join(map(full, paths))}
        ).status_code
        == 404
    )
    final = api.post(
        "/tus/",
        headers={
            **TUS,
            "Upload-Concat": "final;" + " ".join(absolute(api, p) for p in paths),
            "Upload-Metadata": metadata(
                filename="joined.bin", processor="hash", params='{"algorithms": ["md5"]}'
            ),
        },
    )
    assert final.status_code == 201, final.text
    whole = b"".join(parts)
    assert final.headers["Upload-Offset"] == str(len(whole))
    final_path = path_of(final.headers["Location"])
    head = api.head(final_path, headers=TUS)
    assert head.headers["Upload-Length"] == str(len(whole))
    assert head.headers["Upload-Concat"].startswith("final;")
    assert [p.rsplit("/", 1)[1] for p in head.headers["Upload-Concat"][6:].split()] == [
        p.rsplit("/", 1)[1] for p in paths
    ]
    file = wait_for_file(api, head.headers["Lfp-File-Id"])
    assert (file["filename"], file["sha256"]) == ("joined.bin", hashlib.sha256(whole).hexdigest())
    assert download_sha256(api, file["id"]) == file["sha256"]
    job = wait_for_job(api, head.headers["Lfp-Job-Id"])
    assert job["result"]["digests"] == {"md5": hashlib.md5(whole).hexdigest()}

    assert patch(api, final_path, len(whole), b"x").status_code == 403
    # The partial uploads were used up.
    assert api.head(paths[0], headers=TUS).status_code == 410
    again = api.post("/tus/", headers={**TUS, "Upload-Concat": "final;" + full(paths[2])})
    assert again.status_code == 409


def test_concatenation_errors(api: httpx.Client) -> None:
    incomplete = create(api, 10, **{"Upload-Concat": "partial"})
    assert patch(api, incomplete, 0, b"12345").status_code == 204
    response = api.post("/tus/", headers={**TUS, "Upload-Concat": "final;" + full(incomplete)})
    assert response.status_code == 409
    assert "5 of 10" in response.json()["detail"]

    plain = create(api, 1)
    assert patch(api, plain, 0, b"1").status_code == 204
    response = api.post("/tus/", headers={**TUS, "Upload-Concat": "final;" + full(plain)})
    assert response.status_code == 400
    assert "not a partial upload" in response.json()["detail"]

    response = api.post("/tus/", headers={**TUS, "Upload-Concat": "final;/elsewhere/x"})
    assert response.status_code == 400
    response = api.post("/tus/", headers={**TUS, "Upload-Concat": "sideways"})
    assert response.status_code == 400


# -- expiry, locking, CORS ------------------------------------------------------------------


def test_expired_uploads_are_gone_and_their_space_reclaimed(
    start_server: Callable[..., Server], backend: str
) -> None:
    local_store_only(backend)
    server = start_server(backend, LFP_UPLOAD_EXPIRY_SECONDS="2")
    with sign_up(server.url) as api:
        response = api.post("/tus/", headers={**TUS, "Upload-Length": str(MiB)})
        assert response.status_code == 201
        assert response.headers["Upload-Expires"].endswith(" GMT")
        path = path_of(response.headers["Location"])
        staging = server.data_dir / "blobs" / "uploads" / path.rsplit("/", 1)[1]
        assert staging.exists()
        wait_until(
            lambda: api.head(path, headers=TUS).status_code == 410, 30, "the upload to expire"
        )
        assert not staging.exists()
        assert patch(api, path, 0, b"late").status_code == 410


@contextmanager
def two_servers(
    start_server: Callable[..., Server], backend: str, **env: str
) -> Iterator[tuple[Server, Server]]:
    """Two API servers on one database and one blob folder."""
    first = start_server(backend, **env)
    second = Server(first.data_dir / "second", {**first.env, "LFP_DATA_DIR": str(first.data_dir)})
    second.start()
    try:
        yield first, second
    finally:
        second.stop()


def hold_upload(server: Server, api: httpx.Client, path: str, data: bytes) -> socket.socket:
    """A PATCH at offset 0 that sent half of `data` and holds the upload's lock, stalled."""
    holder = raw_request(
        server,
        api,
        f"PATCH /api/v1{path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        f"Content-Length: {len(data)}",
        data[: len(data) // 2],
    )
    upload_id = path.rsplit("/", 1)[1]
    wait_until(lambda: upload_row(server, upload_id)[1] is not None, 30, "the PATCH's lock")
    return holder


def test_a_newer_patch_stops_the_stalled_one_on_another_server(
    start_server: Callable[..., Server], backend: str
) -> None:
    # A lease long enough that no heartbeat starved on a loaded machine lets it lapse:
    # the stalled PATCH must be asked to stop, not presumed dead.
    servers = two_servers(start_server, backend, LFP_CHUNK_LEASE_SECONDS="20")
    with servers as (first, second), sign_up(first.url) as api:
        api2 = httpx.Client(base_url=f"{second.url}/api/v1", headers=api.headers, timeout=60)
        data = os.urandom(2 * MiB)
        path = create(api, len(data))
        holder = hold_upload(first, api, path, data)

        # The client resumes elsewhere as if the first connection were lost: the stalled
        # PATCH is asked to stop, keeps what had arrived, and the two never interleave.
        resumed = patch(api2, path, 0, data)
        assert resumed.status_code == 409, resumed.text
        assert resumed.json()["offset"] == MiB
        answer = holder.recv(4096)
        holder.close()
        assert answer.startswith(b"HTTP/1.1 409")
        assert b"this one stopped" in answer
        done = patch(api2, path, MiB, data[MiB:])
        assert done.status_code == 204, done.text
        file = wait_for_file(api2, done.headers["Lfp-File-Id"])
        assert file["sha256"] == hashlib.sha256(data).hexdigest()
        api2.close()


def test_the_lock_of_a_dead_server_lapses(
    start_server: Callable[..., Server], backend: str
) -> None:
    servers = two_servers(start_server, backend, LFP_CHUNK_LEASE_SECONDS="10")
    with servers as (first, second), sign_up(second.url) as api:
        data = os.urandom(2 * MiB)
        path = create(api, len(data))
        holder = hold_upload(first, api, path, data)
        first.kill()
        holder.close()

        locked = patch(api, path, 0, data)
        assert locked.status_code == 423, locked.text
        assert 1 <= int(locked.headers["Retry-After"]) <= 10

        def sent() -> httpx.Response | None:
            response = patch(api, path, 0, data)
            return response if response.status_code == 204 else None

        done = wait_until(sent, 30, "the dead server's lease to lapse")
        file = wait_for_file(api, done.headers["Lfp-File-Id"])
        assert file["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.fixture
def cors_server(start_server: Callable[..., Server]) -> Iterator[Server]:
    """A server that lets pages of http://app.example call it."""
    yield start_server("sqlite", LFP_CORS_ALLOWED_ORIGINS="http://app.example")


def test_browsers_may_call_tus_from_allowed_origins(cors_server: Server) -> None:
    preflight = httpx.options(
        f"{cors_server.url}/api/v1/tus/x",
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,tus-resumable,upload-offset,"
            "content-type,upload-checksum",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    with sign_up(cors_server.url) as api:
        response = api.post(
            "/tus/", headers={**TUS, "Upload-Length": "3", "Origin": "http://app.example"}
        )
        assert response.status_code == 201
        exposed = response.headers["Access-Control-Expose-Headers"].lower()
        for name in ("location", "upload-offset", "upload-expires", "tus-resumable"):
            assert name in exposed
        refused = api.post(
            "/tus/", headers={**TUS, "Upload-Length": "3", "Origin": "http://evil.example"}
        )
        assert "Access-Control-Allow-Origin" not in refused.headers
