"""Every request limit against a real server with small limits: a clear 4xx past each.

Heads (431, and 408 or a close for heads that never finish) are sent over raw sockets;
the server is started with a one-second head timeout so that slow clients are seen to be
disconnected within the test's (much longer) deadlines.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import CHUNK, Server, sign_up

LIMITS = {
    "LFP_MAX_HEADER_BYTES": "4096",
    "LFP_MAX_HEADER_COUNT": "30",
    "LFP_HEADERS_TIMEOUT_SECONDS": "1",
    "LFP_MAX_JSON_BODY_BYTES": "4096",
    "LFP_MAX_FORM_PARTS": "8",
    "LFP_MAX_FORM_FIELD_BYTES": "1024",
    "LFP_MAX_FILENAME_LENGTH": "40",
    "LFP_MAX_CHUNKS_PER_UPLOAD": "4",
}
DEADLINE = 30.0  # seconds within which a slow client must have been disconnected
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def limited(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server of the backend with the small limits above."""
    return start_module_server(backend, **LIMITS)


@pytest.fixture
def api(limited: Server) -> Iterator[httpx.Client]:
    """A signed-in user of the limited server."""
    with sign_up(limited.url) as client:
        yield client


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)


def read_until_closed(sock: socket.socket, deadline: float = DEADLINE) -> bytes:
    """Everything the server sends until it closes the connection (fails after `deadline`)."""
    end = time.monotonic() + deadline
    received = b""
    while True:
        left = end - time.monotonic()
        assert left > 0, f"the server kept the connection open; it sent {received[:200]!r}"
        readable, _, _ = select.select([sock], [], [], left)
        if readable:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                return received
            if not piece:
                return received
            received += piece


def status_and_body(response: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


def raw_request(server: Server, data: bytes) -> tuple[int, dict[str, Any]]:
    with connect(server) as sock:
        sock.sendall(data)
        return status_and_body(read_until_closed(sock))


def head(*fields: str) -> bytes:
    lines = ["GET /healthz HTTP/1.1", "Host: 127.0.0.1", *fields]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_too_many_header_fields_are_a_431(limited: Server) -> None:
    fields = [f"X-Field-{i}: {i}" for i in range(31)]
    status, problem = raw_request(limited, head(*fields) + b"\r\n")
    assert status == 431
    assert "more than 30 header fields" in problem["detail"]


def test_a_head_over_the_size_limit_is_a_431(limited: Server) -> None:
    status, problem = raw_request(limited, head("X-Big: " + "a" * 5000) + b"\r\n")
    assert status == 431
    assert "over 4096 bytes" in problem["detail"]


def test_a_head_over_the_size_limit_is_refused_before_it_ends(limited: Server) -> None:
    status, problem = raw_request(limited, head("X-Big: " + "a" * 5000))  # no end of head
    assert status == 431
    assert problem["title"] == "Request Header Fields Too Large"


def test_a_head_within_the_limits_is_served(limited: Server) -> None:
    fields = [f"X-Field-{i}: {'v' * 50}" for i in range(25)]
    status, problem = raw_request(limited, head(*fields, "Connection: close") + b"\r\n")
    assert (status, problem) == (200, {"status": "ok"})


def test_a_head_that_stops_half_way_is_answered_408_and_closed(limited: Server) -> None:
    status, problem = raw_request(limited, b"GET /heal")
    assert status == 408
    assert "did not arrive within 1 s" in problem["detail"]


def test_a_connection_that_sends_nothing_is_closed(limited: Server) -> None:
    with connect(limited) as sock:
        assert read_until_closed(sock) == b""


def test_a_head_sent_a_byte_at_a_time_is_cut_off(limited: Server) -> None:
    request = head("X-Slow: " + "s" * 1000) + b"\r\n"
    with connect(limited) as sock:
        end = time.monotonic() + DEADLINE
        for byte in request:
            assert time.monotonic() < end, "the server took the whole slow head"
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return  # closed while we were still sending: what we want
            # Pace the bytes, and stop as soon as the server answers or closes.
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                status, _ = status_and_body(read_until_closed(sock))
                assert status == 408
                return
        pytest.fail("the whole head was sent a byte at a time without the server cutting it")


def test_hundreds_of_idle_connections_do_not_hold_the_server(limited: Server) -> None:
    sockets = [connect(limited) for _ in range(300)]
    try:
        for sock in sockets[::2]:
            sock.sendall(b"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\n")  # and never more
        assert httpx.get(f"{limited.url}/healthz", timeout=DEADLINE).status_code == 200
        for sock in sockets:
            read_until_closed(sock)
    finally:
        for sock in sockets:
            sock.close()
    assert httpx.get(f"{limited.url}/healthz", timeout=DEADLINE).status_code == 200


def test_a_json_body_over_the_limit_is_a_413(api: httpx.Client) -> None:
    body = {"filename": "a.bin", "size": 1, "params": {"pad": "x" * 5000}}
    response = api.post("/uploads", json=body)
    assert response.status_code == 413, response.text
    assert "LFP_MAX_JSON_BODY_BYTES" in response.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit holds as it arrives
        yield json.dumps(body).encode()

    response = api.post("/jobs", content=chunked(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text


def test_a_json_body_within_the_limit_is_read(api: httpx.Client) -> None:
    response = api.post("/uploads", json={"filename": "a.bin", "size": 1, "chunk_size": 1})
    assert response.status_code == 201, response.text


def form(fields: dict[str, str], filename: str = "a.txt") -> dict[str, Any]:
    return {"data": fields, "files": {"file": (filename, b"hello", "text/plain")}}


@pytest.mark.parametrize("path", ["/files", "/dropzone"])
def test_too_many_form_parts_are_a_413(api: httpx.Client, path: str) -> None:
    fields = {f"field{i}": "x" for i in range(9)}
    response = api.post(path, **form(fields))
    assert response.status_code == 413, response.text
    assert "more than 8 parts" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/files", "/dropzone"])
def test_a_form_field_over_the_limit_is_a_413(api: httpx.Client, path: str) -> None:
    response = api.post(path, **form({"note": "x" * 1025}))
    assert response.status_code == 413, response.text
    assert "form field `note` is over 1024 bytes" in response.json()["detail"]


def test_a_form_within_the_limits_is_stored(api: httpx.Client) -> None:
    fields = {f"field{i}": "x" * 1024 for i in range(7)}
    response = api.post("/files", **form(fields, filename="n" * 40))
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "n" * 40


def test_a_filename_over_the_limit_is_a_422_on_every_way_in(api: httpx.Client) -> None:
    name = "n" * 41
    responses = {
        "files": api.post("/files", **form({}, filename=name)),
        "dropzone": api.post("/dropzone", **form({}, filename=name)),
        "dzfilename": api.post("/dropzone", **form({"dzfilename": name})),
        "uploads": api.post("/uploads", json={"filename": name, "size": 1}),
        "tus": api.post(
            "/tus/",
            headers={
                **TUS,
                "Upload-Length": "1",
                "Upload-Metadata": f"filename {base64.b64encode(name.encode()).decode()}",
            },
        ),
    }
    for way, response in responses.items():
        assert response.status_code == 422, f"{way}: {response.text}"
        assert "at most 40" in response.text, f"{way}: {response.text}"
    assert api.get("/files").json()["total"] == 0


def test_an_upload_of_more_chunks_than_the_limit_is_a_422(api: httpx.Client) -> None:
    response = api.post("/uploads", json={"filename": "a", "size": 5 * CHUNK, "chunk_size": CHUNK})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "at most 4 (LFP_MAX_CHUNKS_PER_UPLOAD)" in detail
    assert f"at least {5 * CHUNK // 4} bytes" in detail
    response = api.post("/uploads", json={"filename": "a", "size": 4 * CHUNK, "chunk_size": CHUNK})
    assert response.status_code == 201, response.text


def test_a_chunk_past_the_limit_of_a_deferred_upload_is_a_413(api: httpx.Client) -> None:
    response = api.post("/uploads", json={"filename": "a", "size": None, "chunk_size": CHUNK})
    assert response.status_code == 201, response.text
    upload_id = response.json()["id"]
    response = api.put(f"/uploads/{upload_id}/chunks/4", content=b"x")
    assert response.status_code == 413, response.text
    assert "LFP_MAX_CHUNKS_PER_UPLOAD" in response.json()["detail"]


def test_a_dropzone_file_in_more_chunks_than_the_limit_is_a_422(api: httpx.Client) -> None:
    chunk = 64 * 1024
    fields = {
        "dzuuid": "many-chunks",
        "dzchunkindex": "0",
        "dztotalfilesize": str(5 * chunk),
        "dzchunksize": str(chunk),
        "dztotalchunkcount": "5",
        "dzchunkbyteoffset": "0",
    }
    files = {"file": ("a.bin", b"x" * chunk, "application/octet-stream")}
    response = api.post("/dropzone", data=fields, files=files)
    assert response.status_code == 422, response.text
    assert "LFP_MAX_CHUNKS_PER_UPLOAD" in response.json()["detail"]
