"""No input makes the server fail: NUL characters in every kind of request text, and
multipart boundaries the parser refuses, get a 4xx problem with a useful detail.

PostgreSQL cannot store a NUL character in text, so every string that could reach it is
sent with one here, on SQLite and on PostgreSQL alike (the login email is left to the
auth tests).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers import create_upload, upload_small

NUL = "\x00"
TUS = {"Tus-Resumable": "1.0.0"}
Send = Callable[[httpx.Client, dict[str, str]], httpx.Response]


def form(
    fields: dict[str, str], filename: str = "a.txt", data: bytes = b"hello", boundary: str = "b0"
) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand (so NUL characters go through as they are)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
    parts.append(f"{head}\r\nContent-Type: text/plain\r\n\r\n")
    body = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def post_form(path: str, fields: dict[str, str], filename: str = "a.txt") -> Send:
    def send(api: httpx.Client, _ids: dict[str, str]) -> httpx.Response:
        body, headers = form(fields, filename)
        return api.post(path, content=body, headers=headers)

    return send


def get(path: str) -> Send:
    return lambda api, ids: api.get(path.format(**ids))


def post_json(path: str, body: dict[str, Any]) -> Send:
    def send(api: httpx.Client, ids: dict[str, str]) -> httpx.Response:
        filled = json.loads(json.dumps(body).replace("FILE_ID", ids["file_id"]))
        return api.post(path.format(**ids), json=filled)

    return send


def tus_create(**metadata: str) -> Send:
    def send(api: httpx.Client, _ids: dict[str, str]) -> httpx.Response:
        pairs = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items()
        )
        headers = {**TUS, "Upload-Length": "5", "Upload-Metadata": pairs}
        return api.post("/tus/", headers=headers)

    return send


UPLOAD = {"filename": "a.bin", "size": 10, "chunk_size": 10}
DZ = {"dzuuid": "dz-nul", "dzchunkindex": "0", "dztotalchunkcount": "1"}
CASES: dict[str, Send] = {
    # query parameters
    "files page": get("/files?page=%00"),
    "jobs state": get("/jobs?state=%00"),
    "jobs file_id": get("/jobs?file_id=%00"),
    "titles type": get("/titles?type=a%00b"),
    "titles country": get("/titles?country=%00"),
    "titles q": get("/titles?q=%00"),
    "titles sort_by": get("/titles?sort_by=%00"),
    "titles release_year": get("/titles?release_year=%00"),
    "products q": get("/products?q=x%00"),
    "products sort_by": get("/products?sort_by=%00"),
    "aggregates sort_by": get("/products/aggregates?sort_by=%00"),
    "query name": get("/files?a%00b=1"),
    "files processor": lambda api, ids: api.post(
        "/files?processor=hash%00", files={"file": ("a", b"x")}
    ),
    "files params": lambda api, ids: api.post(
        "/files",
        params={"processor": "hash", "params": '{"algorithms": ["\\u0000"]}'},
        files={"file": ("a", b"x")},
    ),
    "finalize dzuuid query": lambda api, ids: api.post("/dropzone/finalize?dzuuid=%00"),
    # path parameters
    "title show_id": get("/titles/s1%00"),
    "product sku": get("/products/a%00b"),
    "file id": get("/files/%00"),
    "upload id": get("/uploads/%00"),
    "job output name": get("/jobs/{job_id}/outputs/a%00b"),
    # JSON fields
    "upload filename": post_json("/uploads", {**UPLOAD, "filename": "a\u0000b"}),
    "upload content_type": post_json("/uploads", {**UPLOAD, "content_type": "text/\u0000"}),
    "upload checksum": post_json("/uploads", {**UPLOAD, "checksum": "sha256:\u0000"}),
    "upload processor": post_json("/uploads", {**UPLOAD, "processor": "hash\u0000"}),
    "upload params": post_json(
        "/uploads", {**UPLOAD, "processor": "hash", "params": {"algorithms": ["md5\u0000"]}}
    ),
    "upload params key": post_json(
        "/uploads", {**UPLOAD, "processor": "hash", "params": {"a\u0000": 1}}
    ),
    "complete checksum": post_json("/uploads/{upload_id}/complete", {"checksum": "\u0000"}),
    "job processor": post_json("/jobs", {"file_id": "FILE_ID", "processor": "\u0000"}),
    "job params": post_json(
        "/jobs",
        {"file_id": "FILE_ID", "processor": "csv-aggregate", "params": {"group_by": ["\u0000"]}},
    ),
    "finalize dzuuid json": post_json("/dropzone/finalize", {"dzuuid": "\u0000"}),
    # multipart form fields and filenames
    "files filename": post_form("/files", {}, filename="a\x00.txt"),
    "files form field": post_form("/files", {"note": "a\x00"}),
    "dropzone dzuuid": post_form("/dropzone", {**DZ, "dzuuid": "dz\x00"}),
    "dropzone dzfilename": post_form("/dropzone", {**DZ, "dzfilename": "a\x00b"}),
    "dropzone processor": post_form("/dropzone", {"processor": "hash\x00"}),
    "dropzone params": post_form(
        "/dropzone", {"processor": "hash", "params": '{"algorithms": ["\\u0000"]}'}
    ),
    "dropzone filename": post_form("/dropzone", {}, filename="\x00"),
    "finalize dzuuid form": lambda api, ids: api.post(
        "/dropzone/finalize", data={"dzuuid": "dz\x00"}
    ),
    # tus Upload-Metadata values
    "tus filename": tus_create(filename="a\x00b"),
    "tus filetype": tus_create(filetype="text/\x00"),
    "tus processor": tus_create(processor="hash\x00"),
    "tus params": tus_create(processor="hash", params='{"algorithms": ["md5\\u0000"]}'),
    "tus raw params": tus_create(processor="hash", params='{"algorithms": ["md5\x00"]}'),
    "tus checksum": tus_create(checksum="sha256:\x00"),
}
# Refused for what they are (an unknown dzuuid or sku), not for the NUL: the detail need
# not mention it. The catalogues answer 400 for a bad query value and 404 for an id.
NOT_ABOUT_NUL = {"finalize dzuuid form", "product sku"}


@pytest.fixture
def ids(api: httpx.Client) -> dict[str, str]:
    """Ids of a file, a job and an open upload of the user, for the routes that need them."""
    file = upload_small(api, b"a,b\n1,2\n")
    job = api.post("/jobs", json={"file_id": file["id"], "processor": "hash"})
    assert job.status_code == 202, job.text
    upload = create_upload(api, 10, chunk_size=10)
    return {"file_id": file["id"], "job_id": job.json()["id"], "upload_id": upload["id"]}


def test_a_nul_character_in_any_input_is_a_4xx_naming_it(
    api: httpx.Client, ids: dict[str, str]
) -> None:
    failures = []
    for name, send in CASES.items():
        response = send(api, ids)
        body = response.json() if response.content else {}
        detail = str(body.get("detail", ""))
        if not 400 <= response.status_code < 500 or not detail:
            failures.append(f"{name}: {response.status_code} {response.text[:300]}")
        elif name not in NOT_ABOUT_NUL and "NUL" not in detail and "must be" not in detail:
            failures.append(f"{name}: {response.status_code} without a word of it: {detail}")
    assert not failures, "\n".join(failures)


def test_a_nul_filename_leaves_nothing_stored(api: httpx.Client) -> None:
    body, headers = form({}, filename="a\x00.txt")
    response = api.post("/files", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert "filename" in response.json()["detail"]
    assert api.get("/files").json()["total"] == 0


@pytest.mark.parametrize("path", ["/files", "/dropzone"])
def test_a_boundary_too_long_for_the_parser_is_a_400(api: httpx.Client, path: str) -> None:
    boundary = "b" * 300
    body, headers = form({}, boundary=boundary)
    response = api.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "boundary" in response.json()["detail"]


def test_a_boundary_just_within_the_limit_is_accepted(api: httpx.Client) -> None:
    body, headers = form({}, boundary="b" * 256)
    response = api.post("/files", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "a.txt"


def test_an_unused_upload_id_with_a_nul_is_not_a_server_error(api: httpx.Client) -> None:
    response = api.put(f"/uploads/{uuid.uuid4()}%00/chunks/0", content=b"x")
    assert 400 <= response.status_code < 500, response.text
