"""`GET /files?id_prefix=`: the caller's files whose id starts with some hex digits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.helpers import upload_small

# 17 files: two of them surely share their first hex digit (there are 16).
COUNT = 17


def _listed(api: httpx.Client, prefix: str, per_page: int = 100) -> dict[str, Any]:
    response = api.get("/files", params={"id_prefix": prefix, "per_page": per_page})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_id_prefix_keeps_exactly_the_files_whose_id_starts_so(api: httpx.Client) -> None:
    ids = [upload_small(api, bytes([n]), f"f{n}.bin")["id"] for n in range(COUNT)]
    for digit, count in Counter(i[0] for i in ids).items():
        page = _listed(api, digit)
        assert page["total"] == count
        assert sorted(f["id"] for f in page["items"]) == sorted(i for i in ids if i[0] == digit)
    shared = next(d for d, n in Counter(i[0] for i in ids).items() if n > 1)
    paged = _listed(api, shared, per_page=1)
    assert len(paged["items"]) == 1 and paged["total"] > 1
    one = ids[0]
    for form in (one, one.upper(), one.replace("-", ""), one[:8], one[:9], one[:11], one[:4]):
        found = _listed(api, form)
        assert one in [f["id"] for f in found["items"]], form
    assert [f["id"] for f in _listed(api, one)["items"]] == [one]


def test_id_prefix_never_matches_another_users_files(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    theirs = upload_small(other_api, b"theirs")["id"]
    mine = upload_small(api, b"mine")["id"]
    assert _listed(api, theirs)["total"] == 0
    assert {f["id"] for f in _listed(api, theirs[:4])["items"]} <= {mine}
    assert [f["id"] for f in _listed(other_api, theirs)["items"]] == [theirs]


@pytest.mark.parametrize("prefix", ["", "xyz", "ab%", "ab_c", "----", "a" * 33, "a" * 37, " ab"])
def test_id_prefix_that_is_not_hex_digits_is_a_problem(api: httpx.Client, prefix: str) -> None:
    response = api.get("/files", params={"id_prefix": prefix})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "id_prefix" in response.text
