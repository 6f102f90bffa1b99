"""The `products` processor and the products query API, against a reference computed here.

The catalogue is one set of tables for all users, so this module runs its own server per
backend and keeps, next to it, what the tables must hold: every successful load is applied
to a dict with the csv module, and after each load the whole catalogue and its aggregates
are compared with it.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.helpers import Server, sign_up, upload_small, wait_for_job

HEADER = ("name", "sku", "description")
NAMES = [
    "Widget",
    " Widget ",  # the same name once stripped
    "Gadget, large",
    'The "best" gizmo',
    '"Quoted", with comma',
    "Ünïcode ✓ thing",
]


@dataclass
class Reference:
    """What the products tables must hold, computed with the csv module and dicts."""

    products: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> name, desc

    def load(self, data: bytes, *, case_insensitive: bool = True) -> dict[str, int]:
        """Apply a good file as the processor must; the counts its result must show."""
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        latest: dict[str, tuple[str, str]] = {}
        for row in rows:
            sku = row["sku"].strip()
            latest[sku.lower() if case_insensitive else sku] = (
                row["name"].strip(),
                row["description"],
            )
        inserted = sum(1 for key in latest if key not in self.products)
        self.products.update(latest)
        return {
            "rows_read": len(rows),
            "inserted": inserted,
            "updated": len(latest) - inserted,
            "duplicates": len(rows) - len(latest),
        }

    def aggregates(self) -> dict[str, int]:
        """Number of products per name."""
        return dict(Counter(name for name, _ in self.products.values()))


@dataclass
class Catalog:
    """A server of its own, a signed-in user of it, and the reference of its tables."""

    api: httpx.Client
    reference: Reference


@pytest.fixture(scope="module")
def catalog(backend: str, start_module_server: Callable[..., Server]) -> Iterator[Catalog]:
    """A fresh server per backend for this module, so whole-table assertions hold."""
    server = start_module_server(backend)
    with sign_up(server.url) as api:
        yield Catalog(api, Reference())


def products_csv(
    rows: list[tuple[str, str, str]], *, header: tuple[str, ...] = HEADER, bom: bool = True
) -> bytes:
    """A CSV with CRLF line ends, quoted as needed (RFC 4180), with a BOM unless told."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def generated_rows(seed: int, skus: range, count: int) -> list[tuple[str, str, str]]:
    """Rows whose skus repeat (in varying letter case), with awkward names and descriptions."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        sku = f"SKU-{rng.choice(skus):04d}"
        sku = sku.lower() if rng.random() < 0.3 else sku
        description = rng.choice(
            [
                f"plain {i}",
                f'two lines {i}\r\nthe second, with a comma and "quotes"',
                f"three\nbare LF\nlines {i}",
                "",
            ]
        )
        rows.append((rng.choice(NAMES), f"  {sku} " if i % 11 == 0 else sku, description))
    return rows


def run_products(
    api: httpx.Client, data: bytes, expect: str = "succeeded", **params: Any
) -> dict[str, Any]:
    """Upload `data` with a products job; the job once it ended in state `expect`."""
    file = upload_small(api, data, "products.csv", processor="products", params=json.dumps(params))
    job = wait_for_job(api, file["job_id"])
    assert job["state"] == expect, job
    return job


def all_pages(api: httpx.Client, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every item of a paginated listing, page by page."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = api.get(path, params={"page": page, "per_page": 100, **query})
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if page * 100 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


def assert_matches(catalog: Catalog) -> None:
    """The products and the aggregates the API shows are exactly the reference's."""
    products = all_pages(catalog.api, "/products", sort_by="sku")
    shown = {p["sku"]: (p["name"], p["description"]) for p in products}
    assert shown == catalog.reference.products
    aggregates = all_pages(catalog.api, "/products/aggregates")
    assert {a["name"]: a["count"] for a in aggregates} == catalog.reference.aggregates()


def result_counts(job: dict[str, Any]) -> dict[str, int]:
    """The counts of a products job's result that the reference predicts."""
    return {k: job["result"][k] for k in ("rows_read", "inserted", "updated", "duplicates")}


def test_a_file_with_duplicates_loads_as_the_reference(catalog: Catalog) -> None:
    data = products_csv(generated_rows(1, range(0, 240), 400))
    job = run_products(catalog.api, data)
    expected = catalog.reference.load(data)
    assert expected["duplicates"] > 0
    assert result_counts(job) == expected
    assert job["result"]["skipped"] == 0
    assert_matches(catalog)


def test_a_second_file_updates_and_inserts(catalog: Catalog) -> None:
    data = products_csv(generated_rows(2, range(200, 400), 300), bom=False)
    job = run_products(catalog.api, data)
    expected = catalog.reference.load(data)
    assert expected["updated"] > 0 and expected["inserted"] > 0
    assert result_counts(job) == expected
    assert_matches(catalog)


def test_columns_in_another_order_load_the_same(catalog: Catalog) -> None:
    rows = [("Reordered", "ORD-1", "first"), ("Reordered", "ord-1", "wins"), ("Other", "ORD-2", "")]
    data = products_csv(
        [(sku, description, name) for name, sku, description in rows],
        header=("sku", "description", "name"),
    )
    run_products(catalog.api, data)
    catalog.reference.load(products_csv(rows))
    assert_matches(catalog)


def test_a_malformed_row_fails_the_job_and_changes_nothing(catalog: Catalog) -> None:
    # Enough good rows before it that some were already staged in batches when it comes.
    rows = [("Changed", "SKU-0001", "would update")]
    rows += [("New", f"NEW-{i}", "") for i in range(12_000)]
    data = products_csv(rows) + b'Broken,"SKU-0002\r\n'  # a quote never closed
    job = run_products(catalog.api, data, expect="failed")
    assert job["error"].startswith("line 12003, not valid CSV")
    assert_matches(catalog)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        (b",SKU-0001,no name\r\n", "column name"),
        (b"No sku,  ,x\r\n", "column sku"),
        (b"Too few,SKU-0001\r\n", "column description"),
        (b"Too many,SKU-0001,x,y\r\n", "column 4"),
    ],
)
def test_a_bad_row_fails_naming_line_and_column(catalog: Catalog, line: bytes, column: str) -> None:
    data = products_csv([("Changed", "SKU-0001", "would update")]) + line
    job = run_products(catalog.api, data, expect="failed")
    assert f"line 3, {column}" in job["error"]
    assert_matches(catalog)


def test_a_wrong_header_fails_the_job(catalog: Catalog) -> None:
    data = products_csv([("A", "B", "C")], header=("name", "code", "description"))
    job = run_products(catalog.api, data, expect="failed")
    assert "line 1" in job["error"] and "name, sku and description" in job["error"]
    assert_matches(catalog)


def test_skip_mode_loads_the_good_rows_and_lists_the_bad(catalog: Catalog) -> None:
    good = [("Skipper", "SKIP-1", "a"), ("Skipper", "SKIP-2", "b\nc")]
    data = (
        products_csv(good[:1])
        + b",SKIP-3,no name\r\n"
        + products_csv(good[1:], bom=False).split(b"\r\n", 1)[1]
        + b"Too few,SKIP-4\r\n"
    )
    job = run_products(catalog.api, data, on_bad_row="skip")
    catalog.reference.load(products_csv(good))
    result = job["result"]
    assert result["skipped"] == 2
    assert result["skipped_lines"] == [
        {"line": 3, "reason": "column name: empty"},
        {"line": 6, "reason": "column description: missing (the row has 2 of 3 fields)"},
    ]
    assert result["rows_read"] == 4 and result["inserted"] == 2
    assert_matches(catalog)


def test_skip_mode_lists_the_first_thousand_bad_rows_and_counts_all(catalog: Catalog) -> None:
    data = products_csv([("Many", "MANY-1", "")]) + b",MANY-2,\r\n" * 1_005
    job = run_products(catalog.api, data, on_bad_row="skip")
    catalog.reference.load(products_csv([("Many", "MANY-1", "")]))
    assert job["result"]["skipped"] == 1_005
    lines = job["result"]["skipped_lines"]
    assert [s["line"] for s in lines] == list(range(3, 1_003))
    assert_matches(catalog)


def test_case_sensitive_skus_are_distinct_products(catalog: Catalog) -> None:
    data = products_csv(
        [("Cased", "CS-1", "upper"), ("Cased", "cs-1", "lower"), ("Cased", "CS-1", "upper again")]
    )
    job = run_products(catalog.api, data, sku_case_insensitive=False)
    expected = catalog.reference.load(data, case_insensitive=False)
    assert (
        result_counts(job)
        == expected
        == {
            "rows_read": 3,
            "inserted": 2,
            "updated": 0,
            "duplicates": 1,
        }
    )
    assert_matches(catalog)
    assert catalog.api.get("/products/CS-1").json()["description"] == "upper again"
    assert catalog.api.get("/products/cs-1").json()["description"] == "lower"


def test_a_product_is_found_by_its_sku_in_any_case(catalog: Catalog) -> None:
    run_products(catalog.api, products_csv([("Finder", "Find-Me-1", "here")]))
    catalog.reference.load(products_csv([("Finder", "Find-Me-1", "here")]))
    for sku in ("find-me-1", "FIND-ME-1", "Find-Me-1"):
        response = catalog.api.get(f"/products/{sku}")
        assert response.status_code == 200, response.text
        assert response.json()["sku"] == "find-me-1"
        assert response.json()["name"] == "Finder"
    for sku in ("no-such-sku", "nul%00sku"):
        missing = catalog.api.get(f"/products/{sku}")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def sortable(catalog: Catalog) -> list[dict[str, Any]]:
    """150 more products, so that the listings span several pages."""
    rng = random.Random(7)
    rows = [
        (f"srtname{rng.randrange(30):03d}", f"srt{i:04d}", f"d{i}")
        for i in rng.sample(range(1000), 150)
    ]
    data = products_csv(rows)
    run_products(catalog.api, data)
    catalog.reference.load(data)
    return [{"sku": s, "name": n} for n, s, _ in rows]


@pytest.mark.parametrize("sort_by", ["sku", "name"])
@pytest.mark.parametrize("sort_order", [1, -1])
def test_products_page_in_code_point_order(
    catalog: Catalog, sortable: list[dict[str, Any]], sort_by: str, sort_order: int
) -> None:
    # Both databases compare text by code point, as Python does; the sku breaks ties.
    rows = [(key, name) for key, (name, _) in catalog.reference.products.items()]
    column = 0 if sort_by == "sku" else 1
    expected = [key for key, _ in sorted(rows, key=lambda r: (r[column], r[0]))]
    expected = expected[::-1] if sort_order < 0 else expected
    last = -(-len(expected) // 20)
    query: dict[str, Any] = {"sort_by": sort_by, "sort_order": sort_order, "per_page": 20}
    for page in (1, 3, last):
        body = catalog.api.get("/products", params={**query, "page": page}).json()
        assert body["total"] == len(expected)
        assert [p["sku"] for p in body["items"]] == expected[(page - 1) * 20 : page * 20]


def test_products_sort_by_update_time_newest_first_by_default(
    catalog: Catalog, sortable: list[dict[str, Any]]
) -> None:
    body = catalog.api.get("/products", params={"per_page": 100}).json()
    assert body["page"] == 1 and body["per_page"] == 100
    keys = [(datetime.fromisoformat(p["updated_at"]), p["sku"]) for p in body["items"]]
    assert keys == sorted(keys, reverse=True)
    assert body["total"] == len(catalog.reference.products)
    assert catalog.api.get("/products").json()["per_page"] == 10


def test_q_matches_name_or_sku_case_insensitively(
    catalog: Catalog, sortable: list[dict[str, Any]]
) -> None:
    for q in ("widget", "SKU-01", "best", "srtname007", "%", "_"):
        found = all_pages(catalog.api, "/products", q=q)
        expected = {
            key
            for key, (name, _) in catalog.reference.products.items()
            if q.lower() in name.lower() or q.lower() in key.lower()
        }
        assert {p["sku"] for p in found} == expected, q


@pytest.mark.parametrize("sort_by", ["name", "count"])
@pytest.mark.parametrize("sort_order", [1, -1])
def test_aggregates_page_by_name_and_by_count(
    catalog: Catalog, sort_by: str, sort_order: int
) -> None:
    counts = catalog.reference.aggregates()
    key = (lambda n: n) if sort_by == "name" else (lambda n: (counts[n], n))
    expected = sorted(counts, key=key, reverse=sort_order < 0)
    shown = all_pages(catalog.api, "/products/aggregates", sort_by=sort_by, sort_order=sort_order)
    assert [(a["name"], a["count"]) for a in shown] == [(n, counts[n]) for n in expected]
    small = catalog.api.get("/products/aggregates", params={"per_page": 2, "page": 2}).json()
    assert small["per_page"] == 2 and small["page"] == 2 and len(small["items"]) == 2


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/products", {"sort_by": "price"}, "sku, name, updated_at"),
        ("/products", {"sort_order": "0"}, "-1, 1"),
        ("/products", {"sort_order": "asc"}, "-1, 1"),
        ("/products", {"per_page": "101"}, "1 to 100"),
        ("/products", {"per_page": "ten"}, "1 to 100"),
        ("/products", {"page": "0"}, "page"),
        ("/products", {"q": "a\x00b"}, "NUL"),
        ("/products/aggregates", {"sort_by": "sku"}, "name, count"),
        ("/products/aggregates", {"per_page": "0"}, "1 to 100"),
    ],
)
def test_bad_paging_or_sorting_is_a_400_naming_the_allowed_values(
    catalog: Catalog, path: str, query: dict[str, str], named: str
) -> None:
    response = catalog.api.get(path, params=query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


def test_the_catalogue_needs_a_signed_in_user(catalog: Catalog) -> None:
    base = str(catalog.api.base_url).rstrip("/")
    for path in ("/products", "/products/aggregates", "/products/x"):
        assert httpx.get(base + path).status_code == 401
