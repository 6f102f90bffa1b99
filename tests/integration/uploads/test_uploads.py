"""The chunked upload state machine over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import (
    CHUNK,
    MiB,
    Server,
    content_digest,
    create_upload,
    download_sha256,
    file_sha256,
    random_file,
    read_chunk,
    sign_up,
    wait_for_file,
    wait_until,
)


def _put(api: httpx.Client, upload: dict[str, Any], index: int, data: bytes) -> httpx.Response:
    return api.put(
        f"/uploads/{upload['id']}/chunks/{index}",
        content=data,
        headers={"Content-Digest": content_digest(data)},
    )


def _received(api: httpx.Client, upload: dict[str, Any]) -> list[int]:
    received: list[int] = api.get(f"/uploads/{upload['id']}").json()["received"]
    return received


@pytest.fixture
def small_upload(api: httpx.Client) -> dict[str, Any]:
    """An upload of two chunks: 5 MiB and 1 MiB."""
    return create_upload(api, CHUNK + MiB)


def test_parallel_shuffled_upload_round_trips_byte_for_byte(
    api: httpx.Client, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", 70 * MiB + 12345, seed=1)
    sha256 = file_sha256(source)
    upload = create_upload(api, source.stat().st_size, checksum=f"sha256:{sha256}")
    assert upload["chunk_count"] == 15
    order = list(range(upload["chunk_count"]))
    random.Random(7).shuffle(order)

    def send(index: int) -> int:  # a connection per request, as parallel clients have
        with httpx.Client(base_url=str(api.base_url), headers=api.headers, timeout=60) as c:
            return _put(c, upload, index, read_chunk(source, index)).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(send, order)) == {204}
    status = api.get(f"/uploads/{upload['id']}").json()
    assert status["received"] == list(range(15))
    assert status["bytes_received"] == source.stat().st_size

    completed = api.post(f"/uploads/{upload['id']}/complete")
    assert completed.status_code == 202
    file = wait_for_file(api, completed.json()["file_id"])
    assert file["state"] == "ready"
    assert file["sha256"] == sha256
    assert file["md5"] == hashlib.md5(source.read_bytes()).hexdigest()
    assert download_sha256(api, file["id"]) == sha256


def test_resent_identical_chunk_is_a_no_op(api: httpx.Client, small_upload: dict[str, Any]) -> None:
    data = random.Random(2).randbytes(CHUNK)
    assert _put(api, small_upload, 0, data).status_code == 204
    assert _put(api, small_upload, 0, data).status_code == 204
    assert _received(api, small_upload) == [0]


def test_resent_chunk_without_digests_is_compared_byte_for_byte(
    api: httpx.Client, small_upload: dict[str, Any]
) -> None:
    url = f"/uploads/{small_upload['id']}/chunks/1"
    data = random.Random(6).randbytes(MiB)
    assert api.put(url, content=data).status_code == 204
    assert api.put(url, content=data).status_code == 204
    changed = data[:-1] + bytes([data[-1] ^ 1])
    assert api.put(url, content=changed).status_code == 409
    assert _received(api, small_upload) == [1]


def test_different_bytes_for_a_stored_chunk_conflict(
    api: httpx.Client, small_upload: dict[str, Any]
) -> None:
    _put(api, small_upload, 0, b"a" * CHUNK)
    response = _put(api, small_upload, 0, b"b" * CHUNK)
    assert response.status_code == 409
    assert "different bytes" in response.json()["detail"]


@pytest.mark.parametrize(("index", "length"), [(0, CHUNK - 1), (0, CHUNK + 1), (1, CHUNK)])
def test_wrong_length_is_refused_and_records_nothing(
    api: httpx.Client, small_upload: dict[str, Any], index: int, length: int
) -> None:
    response = _put(api, small_upload, index, b"x" * length)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert _received(api, small_upload) == []


@pytest.mark.parametrize("index", [-1, 2, 1000])
def test_index_out_of_range_is_refused(
    api: httpx.Client, small_upload: dict[str, Any], index: int
) -> None:
    response = _put(api, small_upload, index, b"x" * MiB)
    assert response.status_code == 400
    assert "out of range" in response.json()["detail"]


def test_digest_mismatch_records_nothing(api: httpx.Client, small_upload: dict[str, Any]) -> None:
    response = api.put(
        f"/uploads/{small_upload['id']}/chunks/1",
        content=b"x" * MiB,
        headers={"Content-Digest": content_digest(b"y" * MiB)},
    )
    assert response.status_code == 422
    assert "Content-Digest" in response.json()["detail"]
    assert _received(api, small_upload) == []


def test_malformed_digest_is_refused(api: httpx.Client, small_upload: dict[str, Any]) -> None:
    response = api.put(
        f"/uploads/{small_upload['id']}/chunks/1",
        content=b"x" * MiB,
        headers={"Content-Digest": "sha-256=not-base64"},
    )
    assert response.status_code == 422


def test_body_cut_short_records_nothing(
    api: httpx.Client, server: Server, small_upload: dict[str, Any]
) -> None:
    url = urlsplit(server.url)
    path = f"/api/v1/uploads/{small_upload['id']}/chunks/0"
    with socket.create_connection((url.hostname, url.port)) as raw:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {api.headers['Authorization']}\r\n"
            f"Content-Length: {CHUNK}\r\n\r\n"
        )
        raw.sendall(head.encode() + b"z" * (CHUNK // 2))
    data = random.Random(3).randbytes(CHUNK)

    def stored_after_retry() -> bool:
        # The server may still hold the dead request's claim for a moment (409, retry).
        return _put(api, small_upload, 0, data).status_code == 204

    assert _received(api, small_upload) == []
    wait_until(stored_after_retry, 30, "the chunk to be accepted after the cut request")
    assert _received(api, small_upload) == [0]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_complete_lists_missing_chunks(api: httpx.Client) -> None:
    upload = create_upload(api, 3 * CHUNK)
    _put(api, upload, 1, b"m" * CHUNK)
    response = api.post(f"/uploads/{upload['id']}/complete")
    assert response.status_code == 409
    assert response.json()["missing"] == [0, 2]


def test_checksum_mismatch_fails_the_file(api: httpx.Client) -> None:
    upload = create_upload(api, MiB, checksum="sha256:" + "0" * 64)
    _put(api, upload, 0, b"c" * MiB)
    file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
    file = wait_for_file(api, file_id)
    assert file["state"] == "failed"
    assert "checksum mismatch" in file["error"]
    assert api.get(f"/files/{file_id}/content").status_code == 409


def test_completing_twice_returns_the_same_file(api: httpx.Client) -> None:
    upload = create_upload(api, 10)
    _put(api, upload, 0, b"0123456789")
    first = api.post(f"/uploads/{upload['id']}/complete").json()
    second = api.post(f"/uploads/{upload['id']}/complete").json()
    assert first == second
    assert (
        wait_for_file(api, first["file_id"])["sha256"] == hashlib.sha256(b"0123456789").hexdigest()
    )


def test_closed_uploads_take_no_chunks(api: httpx.Client) -> None:
    completed = create_upload(api, 4)
    _put(api, completed, 0, b"done")
    api.post(f"/uploads/{completed['id']}/complete")
    assert _put(api, completed, 0, b"done").status_code == 409

    aborted = create_upload(api, 4)
    assert api.delete(f"/uploads/{aborted['id']}").status_code == 204
    assert api.get(f"/uploads/{aborted['id']}").json()["state"] == "aborted"
    assert _put(api, aborted, 0, b"late").status_code == 409


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"size": 3 * CHUNK, "chunk_size": MiB}, 422),
        ({"size": 3 * CHUNK, "chunk_size": 1024 * MiB}, 422),
        ({"size": 3 * 1024**3}, 413),
        ({"size": 10, "checksum": "sha256:xyz"}, 422),
        ({"size": -1}, 422),
        ({"size": 10, "processor": "no-such-processor"}, 422),
        ({"size": 10, "content_type": "text/plain\u00e9"}, 422),
    ],
)
def test_bad_upload_declarations_are_refused(
    api: httpx.Client, fields: dict[str, Any], status: int
) -> None:
    body = {"filename": "x.bin", **fields}
    response = api.post("/uploads", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_deferred_length_is_declared_at_completion(api: httpx.Client) -> None:
    data = random.Random(4).randbytes(CHUNK + 100)
    upload = create_upload(api, None)
    assert upload["chunk_count"] is None
    _put(api, upload, 1, data[CHUNK:])
    _put(api, upload, 0, data[:CHUNK])
    response = api.post(f"/uploads/{upload['id']}/complete", json={"size": len(data)})
    assert response.status_code == 202
    file = wait_for_file(api, response.json()["file_id"])
    assert file["size"] == len(data)
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


def test_idle_uploads_expire_and_refuse_chunks(
    start_server: Callable[..., Server], backend: str
) -> None:
    server = start_server(backend, LFP_UPLOAD_EXPIRY_SECONDS="1")
    with sign_up(server.url) as api:
        upload = create_upload(api, 2 * CHUNK)
        wait_until(
            lambda: api.get(f"/uploads/{upload['id']}").json()["state"] == "expired",
            30,
            "the upload to expire",
        )
        assert _put(api, upload, 0, b"e" * CHUNK).status_code == 409
        blobs = list((server.data_dir / "blobs" / "uploads").glob("*"))
        assert blobs == []


def test_other_users_see_404(api: httpx.Client, other_api: httpx.Client) -> None:
    upload = create_upload(api, 4)
    _put(api, upload, 0, b"mine")
    file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
    wait_for_file(api, file_id)
    uid = upload["id"]
    assert other_api.get(f"/uploads/{uid}").status_code == 404
    assert _put(other_api, upload, 0, b"mine").status_code == 404
    assert other_api.post(f"/uploads/{uid}/complete").status_code == 404
    assert other_api.delete(f"/uploads/{uid}").status_code == 404
    assert other_api.get(f"/files/{file_id}").status_code == 404
    assert other_api.get(f"/files/{file_id}/content").status_code == 404
    assert other_api.delete(f"/files/{file_id}").status_code == 404
    assert other_api.get("/files").json()["total"] == 0
    assert api.get(f"/files/{file_id}").status_code == 200
