"""Dropzone.js chunked uploads against real servers, as Dropzone sends them: form fields
before the `file` part, chunks out of order, retries, and errors as Dropzone reads them;
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import httpx

from tests.helpers import Server, wait_for_file, wait_for_job

CHUNK = 256 * 1024  # Dropzone apps pick small chunks; its default is 2,000,000 bytes
TiB = 1024**4


def send_chunk(
    api: httpx.Client,
    dzuuid: str,
    data: bytes,
    index: int,
    extra: dict[str, str] | None = None,
    *,
    chunk_size: int = CHUNK,
) -> httpx.Response:
    """POST chunk `index` of `data` with Dropzone's fields, as Dropzone does."""
    count = -(-len(data) // chunk_size)
    fields = {
        "dzuuid": dzuuid,
        "dzchunkindex": str(index),
        "dztotalfilesize": str(len(data)),
        "dzchunksize": str(chunk_size),
        "dztotalchunkcount": str(count),
        "dzchunkbyteoffset": str(index * chunk_size),
        **(extra or {}),
    }
    body = data[index * chunk_size : (index + 1) * chunk_size]
    return api.post(
        "/dropzone",
        data=fields,
        files={"file": ("photo.raw", body, "application/octet-stream")},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )


def ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 200 answer."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shown_error(response: httpx.Response, status: int) -> str:
    """The message Dropzone's default error display shows for an error answer.

    Dropzone parses a body only when its Content-Type contains "application/json" (so
    not application/problem+json), then shows its `error` member.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["error"] == body["detail"]
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def test_chunks_out_of_order_with_retries_complete_the_file(api: httpx.Client) -> None:
    data = os.urandom(4 * CHUNK + 1234)
    dzuuid = str(uuid.uuid4())
    params = {"processor": "hash", "params": '{"algorithms": ["sha256"]}'}

    first = ok(send_chunk(api, dzuuid, data, 4, params))
    assert (first["received"], first["chunk_count"], first["complete"]) == (1, 5, False)
    for index in (0, 2, 2, 3):  # chunk 2 is retried (Dropzone retries on any non-2xx)
        state = ok(send_chunk(api, dzuuid, data, index, params))
    assert state["received"] == 4
    assert state["file_id"] is None

    early = api.post("/dropzone/finalize", data={"dzuuid": dzuuid})
    assert "1 of 5 chunks are missing" in shown_error(early, 409)
    assert early.json()["missing"] == [1]

    done = ok(send_chunk(api, dzuuid, data, 1, params))
    assert done["complete"] is True
    assert done["received"] == 5
    file = wait_for_file(api, done["file_id"])
    assert (file["filename"], file["size"]) == ("photo.raw", len(data))
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    job = wait_for_job(api, done["job_id"])
    assert job["result"]["digests"] == {"sha256": hashlib.sha256(data).hexdigest()}

    # Late retries and the app's finalize call from `chunksUploaded` change nothing.
    late = ok(send_chunk(api, dzuuid, data, 3, params))
    assert (late["file_id"], late["job_id"]) == (done["file_id"], done["job_id"])
    for finalize in (
        api.post("/dropzone/finalize", data={"dzuuid": dzuuid}),
        api.post("/dropzone/finalize", json={"dzuuid": dzuuid}),
        api.post("/dropzone/finalize", params={"dzuuid": dzuuid}),
    ):
        assert ok(finalize)["file_id"] == done["file_id"]
    assert len(api.get("/files").json()["items"]) == 1


def test_finalize_completes_and_dzfilename_overrides_the_name(api: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK)
    dzuuid = str(uuid.uuid4())
    ok(send_chunk(api, dzuuid, data, 1, {"dzfilename": "renamed.bin"}))
    state = ok(send_chunk(api, dzuuid, data, 0, {"dzfilename": "renamed.bin"}))
    # The last chunk completed it already; finalize returns the same file.
    assert state["complete"] is True
    finalized = ok(api.post("/dropzone/finalize", json={"dzuuid": dzuuid}))
    assert finalized["file_id"] == state["file_id"]
    assert wait_for_file(api, state["file_id"])["filename"] == "renamed.bin"


def test_a_file_sent_unchunked_is_stored_at_once(api: httpx.Client) -> None:
    data = b"small file\n" * 100
    response = api.post("/dropzone", files={"file": ("notes.txt", data, "text/plain")})
    body = ok(response)
    assert body["complete"] is True
    assert body["upload_id"] is None
    file = wait_for_file(api, body["file_id"])
    assert (file["filename"], file["content_type"]) == ("notes.txt", "text/plain")
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


def test_bad_chunks_are_refused_with_an_error_dropzone_shows(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    data = os.urandom(3 * CHUNK)
    dzuuid = str(uuid.uuid4())

    missing = api.post(
        "/dropzone", data={"dzuuid": dzuuid}, files={"file": ("a", b"x", "text/plain")}
    )
    assert "dzchunkindex" in shown_error(missing, 400)
    offset = send_chunk(api, dzuuid, data, 1, {"dzchunkbyteoffset": "5"})
    assert "dzchunkbyteoffset" in shown_error(offset, 400)
    count = send_chunk(api, dzuuid, data, 1, {"dztotalchunkcount": "9"})
    assert count.status_code == 400
    not_number = send_chunk(api, dzuuid, data, 1, {"dzchunkindex": "one"})
    assert not_number.status_code == 400
    too_small = send_chunk(api, str(uuid.uuid4()), data, 0, chunk_size=1000)
    assert too_small.status_code == 422
    no_file = api.post("/dropzone", data={"dzuuid": dzuuid})
    assert shown_error(no_file, no_file.status_code) and no_file.status_code in (400, 422)
    bad_processor = send_chunk(api, str(uuid.uuid4()), data, 0, {"processor": "nope"})
    assert bad_processor.status_code == 422

    ok(send_chunk(api, dzuuid, data, 0))
    other_size = send_chunk(api, dzuuid, data + b"more", 0)
    assert other_size.status_code == 409
    changed = send_chunk(api, dzuuid, os.urandom(len(data)), 0)
    assert "different bytes" in shown_error(changed, 409)

    # Another user's dzuuid is another upload: nothing of the first user's is reachable.
    assert other_api.post("/dropzone/finalize", data={"dzuuid": dzuuid}).status_code == 404
    assert ok(send_chunk(other_api, dzuuid, data, 2))["received"] == 1
    assert api.post("/dropzone/finalize", data={}).status_code == 400
    assert api.post("/dropzone/finalize", params={"dzuuid": "unknown"}).status_code == 404
    unprintable = api.post("/dropzone/finalize", params={"dzuuid": "a\x01b"})
    assert "printable" in shown_error(unprintable, 400)


def test_every_error_is_json_whose_error_dropzone_shows(api: httpx.Client, server: Server) -> None:
    data = os.urandom(2 * CHUNK)
    dzuuid = str(uuid.uuid4())
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60) as anonymous:
        # Refused by the auth dependency, before the route's body runs.
        assert "Authorization" in shown_error(send_chunk(anonymous, dzuuid, data, 0), 401)
        anonymous.headers["Authorization"] = "Bearer not-a-token"
        assert "invalid" in shown_error(send_chunk(anonymous, dzuuid, data, 0), 401)
        finalize = anonymous.post("/dropzone/finalize", data={"dzuuid": dzuuid})
        assert "invalid" in shown_error(finalize, 401)

    assert "dzchunkindex" in shown_error(
        api.post("/dropzone", data={"dzuuid": dzuuid}, files={"file": ("a", b"x")}), 400
    )
    ok(send_chunk(api, dzuuid, data, 1))
    missing = api.post("/dropzone/finalize", data={"dzuuid": dzuuid})
    assert "1 of 2 chunks are missing" in shown_error(missing, 409)
    assert missing.json()["missing"] == [0]
    assert "bytes" in shown_error(send_chunk(api, dzuuid, data + b"more", 0), 409)
    changed = send_chunk(api, dzuuid, os.urandom(len(data)), 1)
    assert "different bytes" in shown_error(changed, 409)

    huge = 2 * TiB
    fields = {
        "dzuuid": str(uuid.uuid4()),
        "dzchunkindex": "0",
        "dztotalfilesize": str(huge),
        "dzchunksize": str(CHUNK),
        "dztotalchunkcount": str(-(-huge // CHUNK)),
        "dzchunkbyteoffset": "0",
    }
    too_large = api.post("/dropzone", data=fields, files={"file": ("big", data[:CHUNK])})
    assert "more than this server accepts" in shown_error(too_large, 413)
    small = send_chunk(api, str(uuid.uuid4()), data, 0, chunk_size=1000)
    assert "chunk_size" in shown_error(small, 422)
    processor = send_chunk(api, str(uuid.uuid4()), data, 0, {"processor": "nope"})
    assert "unknown processor" in shown_error(processor, 422)
    # Refused by request validation, before the route's body runs.
    long_ref = api.post("/dropzone/finalize", params={"dzuuid": "x" * 101})
    assert "dzuuid" in shown_error(long_ref, 422)
    unknown = api.post("/dropzone/finalize", params={"dzuuid": "unknown"})
    assert "unknown" in shown_error(unknown, 404)
    # Refused before any route: a NUL character (whoever refuses it), a method not routed.
    for nul in (
        api.post("/dropzone/finalize", params={"dzuuid": "a\x00b"}),
        api.post("/dropzone/finalize", json={"dzuuid": "a\x00b"}),
    ):
        assert nul.status_code in (400, 422)
        assert shown_error(nul, nul.status_code)
    assert shown_error(api.get("/dropzone"), 405)
