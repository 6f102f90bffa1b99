"""Per-user quotas against a real server: bytes held and uploads open, on every path that
creates an upload or stores a file; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.helpers import MiB, Server, sign_up, upload_small

QUOTA = 10 * MiB
MAX_OPEN = 3
PROBLEM = "application/problem+json"
TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def quota_server(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server whose users may hold 10 MiB and keep 3 uploads open."""
    return start_module_server(
        backend, LFP_USER_QUOTA_BYTES=str(QUOTA), LFP_USER_MAX_OPEN_UPLOADS=str(MAX_OPEN)
    )


@pytest.fixture
def user(quota_server: Server) -> Iterator[httpx.Client]:
    """A new user of the quota server."""
    with sign_up(quota_server.url) as client:
        yield client


@pytest.fixture
def other_user(quota_server: Server) -> Iterator[httpx.Client]:
    """A second user of the quota server."""
    with sign_up(quota_server.url) as client:
        yield client


def _create(api: httpx.Client, size: int | None) -> httpx.Response:
    return api.post("/uploads", json={"filename": "data.bin", "size": size})


def _refused(response: httpx.Response, status: int = 507) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    return problem


def _open_uploads(api: httpx.Client) -> int:
    """How many uploads the user has open: empty ones are opened up to the cap, then aborted."""
    ids = []
    while (response := _create(api, 0)).status_code == 201:
        ids.append(response.json()["id"])
    _refused(response)
    for upload_id in ids:
        assert api.delete(f"/uploads/{upload_id}").status_code == 204
    return MAX_OPEN - len(ids)


def test_a_user_at_the_cap_of_open_uploads_is_refused_until_one_closes(
    user: httpx.Client,
) -> None:
    ids = [_create(user, MiB).json()["id"] for _ in range(MAX_OPEN)]
    problem = _refused(_create(user, MiB))
    assert f"you have {MAX_OPEN} open uploads" in problem["detail"]
    assert "LFP_USER_MAX_OPEN_UPLOADS" in problem["detail"]
    assert problem["max_open_uploads"] == MAX_OPEN
    assert user.delete(f"/uploads/{ids[0]}").status_code == 204
    assert _create(user, MiB).status_code == 201


def test_over_quota_says_what_is_used_and_allowed(user: httpx.Client) -> None:
    assert _create(user, 6 * MiB).status_code == 201
    problem = _refused(_create(user, 6 * MiB))
    detail = problem["detail"]
    assert f"{QUOTA} bytes (10 MiB) allowed" in detail
    assert f"you use {6 * MiB} bytes (6 MiB)" in detail
    assert f"only {4 * MiB} bytes (4 MiB) of your quota are left" in detail
    assert (problem["used_bytes"], problem["quota_bytes"]) == (6 * MiB, QUOTA)


def test_a_file_larger_than_the_whole_quota_is_413(user: httpx.Client) -> None:
    problem = _refused(_create(user, QUOTA + 1), 413)
    assert "more than your whole quota" in problem["detail"]


def test_parallel_creates_cannot_exceed_the_quota(user: httpx.Client) -> None:
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _create(user, QUOTA // 2), range(10)))
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 2, [a.text for a in answers]
    for answer in answers:
        if answer.status_code != 201:
            assert "of your quota are left" in _refused(answer)["detail"]


def test_deleting_a_file_frees_its_share_and_others_are_unaffected(
    user: httpx.Client, other_user: httpx.Client
) -> None:
    file = upload_small(user, b"x" * (6 * MiB))
    _refused(_create(user, 5 * MiB))
    assert _create(other_user, 9 * MiB).status_code == 201
    assert user.delete(f"/files/{file['id']}").status_code == 204
    assert _create(user, 9 * MiB).status_code == 201


def test_aborting_an_upload_frees_its_share(user: httpx.Client) -> None:
    upload = _create(user, 8 * MiB).json()
    _refused(_create(user, 8 * MiB))
    assert user.delete(f"/uploads/{upload['id']}").status_code == 204
    assert _create(user, 8 * MiB).status_code == 201


def test_a_streamed_file_past_the_room_is_507_and_leaves_nothing(user: httpx.Client) -> None:
    kept = upload_small(user, b"k" * MiB)
    response = user.post("/files", files={"file": ("big.bin", b"y" * (12 * MiB))})
    assert "of your quota are left" in _refused(response)["detail"]
    assert [f["id"] for f in user.get("/files").json()["items"]] == [kept["id"]]
    # Nothing of the refused stream is reserved or open.
    assert _open_uploads(user) == 0
    assert _create(user, QUOTA - MiB).status_code == 201


def test_tus_creation_and_deferred_length_respect_the_quota(user: httpx.Client) -> None:
    too_big = user.post("/tus/", headers={**TUS, "Upload-Length": str(QUOTA + 1)})
    _refused(too_big, 413)
    assert user.post("/tus/", headers={**TUS, "Upload-Length": str(6 * MiB)}).status_code == 201
    deferred = user.post("/tus/", headers={**TUS, "Upload-Defer-Length": "1"})
    assert deferred.status_code == 201, deferred.text
    path = deferred.headers["Location"].split("/api/v1", 1)[1]
    headers = {**STREAM, "Upload-Offset": "0"}
    grown = user.patch(path, content=b"z" * (5 * MiB), headers=headers)
    assert "of your quota are left" in _refused(grown)["detail"]
    declared = user.patch(path, content=b"", headers={**headers, "Upload-Length": str(5 * MiB)})
    assert "declared length needs" in _refused(declared)["detail"]
    fits = user.patch(path, content=b"z" * MiB, headers=headers)
    assert fits.status_code == 204, fits.text


def test_a_tus_final_upload_takes_its_partial_uploads_share(user: httpx.Client) -> None:
    paths = []
    for _ in range(2):
        created = user.post(
            "/tus/",
            headers={**TUS, "Upload-Length": str(3 * MiB), "Upload-Concat": "partial"},
        )
        assert created.status_code == 201, created.text
        path = created.headers["Location"].split("/api/v1", 1)[1]
        sent = user.patch(path, content=b"p" * (3 * MiB), headers={**STREAM, "Upload-Offset": "0"})
        assert sent.status_code == 204, sent.text
        paths.append(path)
    # 6 MiB held by the parts: the 6 MiB final upload replaces them, it does not add to them.
    final = user.post(
        "/tus/",
        headers={**TUS, "Upload-Concat": "final;" + " ".join(f"/api/v1{p}" for p in paths)},
    )
    assert final.status_code == 201, final.text
    _refused(_create(user, 5 * MiB))


def test_dropzone_uploads_respect_the_quota(user: httpx.Client) -> None:
    def dropzone(data: bytes, **fields: str) -> httpx.Response:
        return user.post(
            "/dropzone",
            data=fields,
            files={"file": ("photo.raw", data, "application/octet-stream")},
            headers={"X-Requested-With": "XMLHttpRequest"},
        )

    upload_small(user, b"k" * (6 * MiB))
    first_chunk = dropzone(
        b"c" * MiB,
        dzuuid="6f1c9a52-0000-4000-8000-000000000001",
        dzchunkindex="0",
        dztotalfilesize=str(5 * MiB),
        dzchunksize=str(MiB),
        dztotalchunkcount="5",
        dzchunkbyteoffset="0",
    )
    assert first_chunk.status_code == 507, first_chunk.text
    assert "of your quota are left" in first_chunk.json()["error"]
    unchunked = dropzone(b"u" * (5 * MiB))
    assert unchunked.status_code == 507, unchunked.text
    assert "of your quota are left" in unchunked.json()["error"]
    assert len(user.get("/files").json()["items"]) == 1
