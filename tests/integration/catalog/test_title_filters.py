"""The titles filters as people use them, on SQLite and PostgreSQL: `country` finds one
country of a title's comma-separated list, `type` and `q` ignore case.

The titles table is shared by the server's users, so every title here carries a tag of
its own in its title, and each query adds `q=<tag>` to see only this test's titles.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.conftest import POSTGRES_ADMIN
from tests.helpers import Server, sign_up, upload_small, wait_for_job

HEADER = (
    "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,"
    "listed_in,description"
)
# show_id suffix -> (type, country), the odd values as the Netflix file has them.
TITLES = {
    "fb": ("Movie", "France, Belgium"),
    "bf": ("TV Show", "Belgium, France"),
    "land": ("Movie", "Franceland"),
    "lead": ("Movie", ", France, Algeria"),
    "trail": ("TV Show", "United Kingdom,"),
    "spaces": ("Movie", "  Germany ,France  "),
    "upper": ("Movie", "FRANCE"),
    "none": ("Movie", ""),
    "pct": ("Movie", "100%, Fr_nce"),
}


@pytest.fixture(scope="module")
def loaded(server: Server) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in client and the tag of its titles, loaded once per backend's server."""
    tag = f"tf{uuid.uuid4().hex[:8]}"
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for suffix, (kind, country) in TITLES.items():
        title = f"{tag} Ça va {suffix}" if suffix == "upper" else f"{tag} {suffix}"
        writer.writerow([f"{tag}-{suffix}", kind, title, "", "", country, "", "2020"] + [""] * 4)
    data = f"{HEADER}\n{text.getvalue()}".encode()
    with sign_up(server.url) as api:
        file = upload_small(api, data, "titles.csv", processor="titles")
        job = wait_for_job(api, file["job_id"])
        assert job["state"] == "succeeded", job
        yield api, tag


def _found(loaded: tuple[httpx.Client, str], q: str | None = None, **filters: str) -> set[str]:
    """The suffixes of this module's titles that match `filters` (and `q`, default the tag)."""
    api, tag = loaded
    response = api.get("/titles", params={"q": q or tag, "per_page": 100, **filters})
    assert response.status_code == 200, response.text
    return {t["show_id"].removeprefix(f"{tag}-") for t in response.json()["items"]}


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("france", {"fb", "bf", "lead", "spaces", "upper"}),
        ("France", {"fb", "bf", "lead", "spaces", "upper"}),
        ("  FRANCE ", {"fb", "bf", "lead", "spaces", "upper"}),
        ("belgium", {"fb", "bf"}),
        ("germany", {"spaces"}),
        ("united kingdom", {"trail"}),
        ("franceland", {"land"}),
        ("belgium, france", {"fb", "bf"}),  # every one listed, in any order
        ("France, Algeria", {"lead"}),
        ("fran", set()),  # a whole country, not a part of one
        ("united", set()),
        ("fr_nce", {"pct"}),  # `_` and `%` are plain characters
        ("fr%", set()),
        ("100%", {"pct"}),
    ],
)
def test_country_matches_one_country_of_the_list_in_any_case(
    loaded: tuple[httpx.Client, str], country: str, expected: set[str]
) -> None:
    assert _found(loaded, country=country) == expected


def test_type_ignores_case(loaded: tuple[httpx.Client, str]) -> None:
    shows = {"bf", "trail"}
    movies = set(TITLES) - shows
    assert _found(loaded, type="movie") == movies
    assert _found(loaded, type="Movie") == movies
    assert _found(loaded, type="tv show") == shows
    assert _found(loaded, type="TV SHOW", country="france") == {"bf"}
    assert _found(loaded, type="movi") == set()


def test_q_ignores_case_and_non_ascii_folds_where_the_database_can(
    loaded: tuple[httpx.Client, str], backend: str
) -> None:
    tag = loaded[1]
    assert _found(loaded, tag.upper()) == set(TITLES)  # ASCII folds everywhere
    assert _found(loaded, f"{tag} Ça va") == {"upper"}  # the stored case matches everywhere
    assert _found(loaded, f"{tag.upper()} ÇA va") == {"upper"}
    assert _found(loaded, f"{tag} ÇA VA") == {"upper"}  # Ç as stored, the rest ASCII
    folded = _found(loaded, f"{tag} ça va")  # ç for the stored Ç
    # SQLite's lower() folds ASCII letters only; PostgreSQL's all letters when the database's
    # default locale is a UTF-8 one (test databases take template1's).
    assert folded == ({"upper"} if backend != "sqlite" and _utf8_postgres() else set())


def _utf8_postgres() -> bool:
    with psycopg.connect(POSTGRES_ADMIN) as connection:
        row = connection.execute(
            "SELECT datctype FROM pg_database WHERE datname = 'template1'"
        ).fetchone()
    ctype = str(row[0] if row else "").lower().replace("-", "")
    return ctype.endswith("utf8")
