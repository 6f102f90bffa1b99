"""A server killed mid-upload loses nothing: restarted on the same data, the upload resumes."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

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


def test_upload_resumes_after_the_server_is_killed(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    source = random_file(tmp_path / "resume.bin", 8 * CHUNK + 3 * MiB, seed=9)
    sha256 = file_sha256(source)
    with sign_up(server.url) as api:
        upload = create_upload(api, source.stat().st_size, checksum=f"sha256:{sha256}")
        for index in (0, 1, 2):
            data = read_chunk(source, index)
            response = api.put(
                f"/uploads/{upload['id']}/chunks/{index}",
                content=data,
                headers={"Content-Digest": content_digest(data)},
            )
            assert response.status_code == 204

        # Chunk 3 is half sent when the server dies.
        url = urlsplit(server.url)
        with socket.create_connection((url.hostname, url.port)) as raw:
            raw.sendall(
                (
                    f"PUT /api/v1/uploads/{upload['id']}/chunks/3 HTTP/1.1\r\n"
                    f"Host: {url.netloc}\r\nAuthorization: {api.headers['Authorization']}\r\n"
                    f"Content-Length: {CHUNK}\r\n\r\n"
                ).encode()
                + read_chunk(source, 3)[: CHUNK // 2]
            )
            server.kill()
        server.start()

        assert api.get(f"/uploads/{upload['id']}").json()["received"] == [0, 1, 2]
        for index in range(3, upload["chunk_count"]):
            data = read_chunk(source, index)

            def sent(index: int = index, data: bytes = data) -> bool:
                # A chunk claimed by the dead request is busy (409) until its lease ends.
                response = api.put(
                    f"/uploads/{upload['id']}/chunks/{index}",
                    content=data,
                    headers={"Content-Digest": content_digest(data)},
                )
                assert response.status_code in (204, 409), response.text
                return response.status_code == 204

            wait_until(sent, 30, f"chunk {index} to be accepted after the restart")
        file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
        file = wait_for_file(api, file_id)
        assert file["state"] == "ready"
        assert file["sha256"] == sha256
        assert download_sha256(api, file_id) == sha256


def test_verification_interrupted_by_a_crash_finishes_after_restart(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    source = random_file(tmp_path / "verify.bin", 2 * CHUNK, seed=10)
    with sign_up(server.url) as api:
        upload = create_upload(api, source.stat().st_size)
        for index in range(2):
            api.put(f"/uploads/{upload['id']}/chunks/{index}", content=read_chunk(source, index))
        file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
        server.kill()  # most likely while verifying; either way the outcome must be the same
        server.start()
        file = wait_for_file(api, file_id)
        assert file["state"] == "ready"
        assert file["sha256"] == file_sha256(source)
        assert httpx.get(f"{server.url}/readyz").status_code == 200
