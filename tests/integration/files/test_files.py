"""Stored files: one-shot upload, listing, deletion and downloads with ranges."""

from __future__ import annotations

import hashlib
import random
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.helpers import MiB, create_upload, wait_for_file

NAME = "résumé final.txt"
DATA = random.Random(5).randbytes(3 * MiB + 17)


@pytest.fixture
def stored(api: httpx.Client) -> dict[str, Any]:
    """A ready file holding DATA, uploaded in one request."""
    response = api.post("/files", files={"file": (NAME, DATA, "text/plain")})
    assert response.status_code == 201, response.text
    file: dict[str, Any] = response.json()
    return file


def test_one_shot_upload_is_stored_and_verified(stored: dict[str, Any]) -> None:
    assert stored["state"] == "ready"
    assert stored["filename"] == NAME
    assert stored["size"] == len(DATA)
    assert stored["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert stored["md5"] == hashlib.md5(DATA).hexdigest()


def test_one_shot_without_a_file_field_is_refused(api: httpx.Client) -> None:
    response = api.post("/files", data={"other": "x"}, files={"notfile": ("a", b"x")})
    assert response.status_code == 422
    assert "`file`" in response.json()["detail"]
    assert api.get("/files").json()["total"] == 0


def test_download_has_etag_and_original_name(api: httpx.Client, stored: dict[str, Any]) -> None:
    response = api.get(f"/files/{stored['id']}/content")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["etag"] == f'"{stored["sha256"]}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert quote(NAME, safe="") in response.headers["content-disposition"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=-1", len(DATA) - 1, len(DATA) - 1),
        ("bytes=10-", 10, len(DATA) - 1),
        ("bytes=100-199", 100, 199),
        (f"bytes=5-{len(DATA) + 1000}", 5, len(DATA) - 1),
    ],
)
def test_single_ranges_are_partial_content(
    api: httpx.Client, stored: dict[str, Any], header: str, start: int, end: int
) -> None:
    response = api.get(f"/files/{stored['id']}/content", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.content == DATA[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=5-4", "bytes=0-1,4-5", "lines=1-2"])
def test_ranges_we_do_not_serve_get_the_whole_file(
    api: httpx.Client, stored: dict[str, Any], header: str
) -> None:
    response = api.get(f"/files/{stored['id']}/content", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=-0"])
def test_ranges_outside_the_file_are_416(
    api: httpx.Client, stored: dict[str, Any], header: str
) -> None:
    response = api.get(f"/files/{stored['id']}/content", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


def test_matching_if_none_match_is_not_modified(api: httpx.Client, stored: dict[str, Any]) -> None:
    etag = f'"{stored["sha256"]}"'
    response = api.get(f"/files/{stored['id']}/content", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    other = api.get(f"/files/{stored['id']}/content", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


def test_stale_if_range_gets_the_whole_file(api: httpx.Client, stored: dict[str, Any]) -> None:
    url = f"/files/{stored['id']}/content"
    fresh = api.get(url, headers={"Range": "bytes=10-", "If-Range": f'"{stored["sha256"]}"'})
    assert fresh.status_code == 206
    stale = api.get(url, headers={"Range": "bytes=10-", "If-Range": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == DATA


def test_list_is_paginated_newest_first(api: httpx.Client) -> None:
    ids = [
        api.post("/files", files={"file": (f"f{i}.txt", f"file {i}".encode())}).json()["id"]
        for i in range(5)
    ]
    first = api.get("/files", params={"per_page": 2}).json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 5)
    third = api.get("/files", params={"per_page": 2, "page": 3}).json()
    listed = first["items"] + api.get("/files", params={"per_page": 2, "page": 2}).json()["items"]
    listed += third["items"]
    assert [f["id"] for f in listed] == ids[::-1]
    assert api.get("/files", params={"per_page": 101}).status_code == 422
    assert api.get("/files", params={"page": 10**20}).status_code == 422


def test_deleted_files_are_gone(api: httpx.Client, stored: dict[str, Any]) -> None:
    assert api.delete(f"/files/{stored['id']}").status_code == 204
    assert api.get(f"/files/{stored['id']}").status_code == 404
    assert api.get(f"/files/{stored['id']}/content").status_code == 404
    assert api.delete(f"/files/{stored['id']}").status_code == 404


def test_content_of_a_failed_file_is_a_conflict(api: httpx.Client) -> None:
    upload = create_upload(api, 3, checksum="md5:" + "0" * 32)
    api.put(f"/uploads/{upload['id']}/chunks/0", content=b"abc")
    file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
    assert wait_for_file(api, file_id)["state"] == "failed"
    response = api.get(f"/files/{file_id}/content")
    assert response.status_code == 409
    assert "failed" in response.json()["detail"]
