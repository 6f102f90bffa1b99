"""`POST /uploads/check`: the answer `POST /uploads` would give, without creating anything,
so a client can be refused before it spends long on a large file."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.helpers import Server, sign_up


def test_an_acceptable_upload_is_answered_204_and_nothing_is_created(api: httpx.Client) -> None:
    body = {"filename": "a.csv", "size": 10, "processor": "hash", "params": {}}
    answer = api.post("/uploads/check", json=body)
    assert answer.status_code == 204, answer.text
    assert api.get("/files").json()["total"] == 0
    assert api.post("/uploads", json=body).status_code == 201  # and it is indeed accepted


def test_what_create_would_refuse_is_refused_the_same_way(api: httpx.Client) -> None:
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"size": 3 * 1024**3}, 413, "more than this server accepts"),
        ({"size": 10, "processor": "nope"}, 422, "unknown processor 'nope'"),
        ({"size": 10, "processor": "hash", "params": {"algorithms": ["crc"]}}, 422, "algorithms"),
        ({"size": 10, "params": {"a": 1}}, 422, "without a processor"),
        ({"size": 100 << 20, "chunk_size": 1}, 422, "chunk_size must be between"),
        ({"size": -1}, 422, "size"),
    ]
    for fields, status, detail in cases:
        body = {"filename": "a.bin", **fields}
        checked = api.post("/uploads/check", json=body)
        created = api.post("/uploads", json=body)
        assert (checked.status_code, created.status_code) == (status, status), fields
        assert checked.headers["content-type"].startswith("application/problem+json")
        assert detail in checked.json()["detail"], checked.json()
        assert checked.json()["detail"] == created.json()["detail"]


def test_a_quota_too_small_is_told_before_any_byte(start_server: Callable[..., Server]) -> None:
    server = start_server("sqlite", LFP_USER_QUOTA_BYTES="1000")
    with sign_up(server.url) as api:
        checked = api.post("/uploads/check", json={"filename": "a.bin", "size": 5000})
        assert checked.status_code == 413, checked.text
        assert "quota" in checked.json()["detail"]
        fits = api.post("/uploads/check", json={"filename": "a.bin", "size": 500})
        assert fits.status_code == 204


def test_checking_needs_a_sign_in(server: Server) -> None:
    answer = httpx.post(f"{server.url}/api/v1/uploads/check", json={"filename": "a", "size": 1})
    assert answer.status_code == 401
