"""`lfp titles` and `lfp products` with --json: the API's page, as scripts read it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.helpers import Server
from tests.integration.cli.conftest import Cli, user_api


def test_json_prints_the_apis_page(cli: Cli, server: Server, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    titles = tmp_path / "titles.csv"
    titles.write_text(
        "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,"
        "listed_in,description\n"
        f'{tag}-1,Movie,Film {tag},Ann,,"Belgium, France",,2020,PG,90 min,Drama,x\n'
        f"{tag}-2,TV Show,Show {tag},,,Franceland,,2021,,,,\n"
    )
    products = tmp_path / "products.csv"
    products.write_text(f"name,sku,description\nLamp {tag},{tag}-SKU,bright\n")
    for path, processor in ((titles, "titles"), (products, "products")):
        loaded = cli.run("upload", str(path), "--process", processor)
        assert loaded.returncode == 0, loaded.stderr

    found = cli.run("titles", "--q", tag, "--country", "france", "--type", "movie", "--json")
    assert found.returncode == 0, found.stderr
    page = json.loads(found.stdout)
    assert [t["show_id"] for t in page["items"]] == [f"{tag}-1"]
    assert (page["total"], page["page"], page["per_page"]) == (1, 1, 10)
    with user_api(server, cli) as api:
        assert page == api.get("/titles", params={"q": tag, "country": "france"}).json()

        listed = cli.run("products", "--q", tag, "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == api.get("/products", params={"q": tag}).json()
        # Other tests' products share the server: the page is compared, not searched for
        # this test's name (which may lie on a later page).
        counted = cli.run("products", "--aggregates", "--json", "--per-page", "100")
        assert counted.returncode == 0, counted.stderr
        aggregates = api.get("/products/aggregates", params={"per_page": 100}).json()
        assert json.loads(counted.stdout) == aggregates
        assert aggregates["total"] >= 1
