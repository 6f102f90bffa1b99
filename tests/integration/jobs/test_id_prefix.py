"""`GET /jobs?id_prefix=`: the caller's jobs whose id starts with some hex digits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from tests.helpers import upload_small

# 17 jobs: two of them surely share their first hex digit (there are 16).
COUNT = 17


def _listed(api: httpx.Client, **query: Any) -> dict[str, Any]:
    response = api.get("/jobs", params={"per_page": 100, **query})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _submit(api: httpx.Client, file_id: str) -> str:
    response = api.post("/jobs", json={"file_id": file_id, "processor": "hash"})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_id_prefix_keeps_exactly_the_jobs_whose_id_starts_so(api: httpx.Client) -> None:
    file_id = upload_small(api, b"some bytes")["id"]
    ids = [_submit(api, file_id) for _ in range(COUNT)]
    for digit, count in Counter(i[0] for i in ids).items():
        page = _listed(api, id_prefix=digit)
        assert page["total"] == count
        assert sorted(j["id"] for j in page["items"]) == sorted(i for i in ids if i[0] == digit)
    one = ids[-1]
    for form in (one, one.upper(), one.replace("-", ""), one[:13], one[:4]):
        assert one in [j["id"] for j in _listed(api, id_prefix=form)["items"]], form
    assert _listed(api, id_prefix=one, file_id=file_id)["total"] == 1
    other_file = upload_small(api, b"other bytes")["id"]
    assert _listed(api, id_prefix=one, file_id=other_file)["total"] == 0


def test_id_prefix_never_matches_another_users_jobs(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    theirs = _submit(other_api, upload_small(other_api, b"theirs")["id"])
    assert _listed(api, id_prefix=theirs)["total"] == 0
    assert _listed(api, id_prefix=theirs[:4])["total"] == 0  # this user has no jobs at all
    assert [j["id"] for j in _listed(other_api, id_prefix=theirs)["items"]] == [theirs]


def test_id_prefix_that_is_not_hex_digits_is_a_problem(api: httpx.Client) -> None:
    for prefix in ("not-hex", "12%", "-", "f" * 33):
        response = api.get("/jobs", params={"id_prefix": prefix})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "id_prefix" in response.text
