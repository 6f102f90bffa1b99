"""The catalogue pages in the browser: the titles browser and the products dashboard.

The catalogues are shared by every user of a server, and other tests may load theirs, so
what a page shows is compared with what the API answers for the same query. The data are
loaded once per server from CSVs made here (titles are upserted by show_id and products by
sku, so loading them again changes nothing).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Cookie, Page, expect

from tests.browser.conftest import assert_accessible, new_page
from tests.browser.conftest import sign_up as sign_up_in
from tests.helpers import Server, sign_up, upload_small, wait_for_job, wait_until
from tests.integration.catalog.test_titles import COLUMNS

if TYPE_CHECKING:  # the type add_cookies takes, which playwright does not export
    from playwright._impl._api_structures import SetCookieParam

TITLE_COLUMNS = list(COLUMNS)
COUNTRIES = ["United States", "India", "France, Belgium", "Japan", ""]
ADJECTIVES = ["Silent", "Golden", "Broken", "Hidden", "Last", "Northern", "Paper", "Wild"]
NOUNS = ["River", "Garden", "Signal", "Harbor", "Winter"]
DIRECTOR = "Quillfeather Marsh"  # directs one title: what the text search must find
DIRECTED = "The Lighthouse Keeper"
# Product names and how many products carry each: the aggregates' counts, largest first.
PRODUCT_NAMES = {"Brass Lantern": 8, "Copper Kettle": 6, "Oak Stool": 5, "Tin Cup": 4}
PRODUCT_NAMES |= {"Wool Blanket": 3, "Clay Pot": 2, "Glass Jar": 1, "Iron Pan": 1}
BAD_YEAR = "release_year must be a whole number from 0 to 9999, not 'abc'"

Api = httpx.Client


def _csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def _titles_csv() -> bytes:
    """32 titles: both types, five countries (one of them "France, Belgium"), many years."""
    rows = []
    for i in range(32):
        title = f"{ADJECTIVES[i % 8]} {NOUNS[i % 5]} {i:02d}"
        rows.append(
            {
                "show_id": f"cat-{i:03d}",
                "type": "Movie" if i % 3 else "TV Show",
                "title": DIRECTED if i == 17 else title,
                "director": DIRECTOR if i == 17 else f"Director {i % 6}",
                "cast": f"Actor {i % 4}, Actor {i % 7 + 10}",
                "country": COUNTRIES[i % 5],
                "date_added": f"March {i % 28 + 1}, {2015 + i % 7}",
                "release_year": str(1980 + (i * 7) % 41),
                "rating": ["PG-13", "TV-MA", "R", "G"][i % 4],
                "duration": "1 Season" if i % 3 == 0 else f"{80 + i} min",
                "listed_in": ["Dramas", "Comedies, Dramas", "Documentaries"][i % 3],
                "description": f'A story, number {i}, with "quotes".',
            }
        )
    return _csv(TITLE_COLUMNS, rows)


def _products_csv() -> bytes:
    """30 products whose names repeat, as PRODUCT_NAMES counts them."""
    names = [name for name, count in PRODUCT_NAMES.items() for _ in range(count)]
    rows = [
        {"name": name, "sku": f"CAT-{i:03d}", "description": f"{name}, piece {i}."}
        for i, name in enumerate(names)
    ]
    return _csv(["name", "sku", "description"], rows)


def _load(api: Api, data: bytes, processor: str) -> None:
    file = upload_small(api, data, f"{processor}.csv", processor=processor)
    job = wait_for_job(api, file["job_id"], timeout=60)
    assert job["state"] == "succeeded", job


@pytest.fixture(scope="module")
def catalogues(web: Server) -> Iterator[Api]:
    """A signed-in API client of the web server, once both catalogues are loaded."""
    with sign_up(web.url) as api:
        _load(api, _titles_csv(), "titles")
        _load(api, _products_csv(), "products")
        yield api


@pytest.fixture(scope="module")
def cookies(browser: Browser, web: Server) -> list[Cookie]:
    """The cookies of one sign-up through the form, which this module's pages share."""
    errors: list[str] = []
    signing = new_page(browser, web, errors)
    try:
        sign_up_in(signing)
        return signing.context.cookies()
    finally:
        signing.context.close()


@pytest.fixture
def signed_in(page: Page, cookies: list[Cookie]) -> Page:
    """The page, signed in (the module's session: signing up each time is slow)."""
    page.context.add_cookies(cast("list[SetCookieParam]", cookies))
    return page


def _items(api: Api, path: str, **params: str) -> dict[str, Any]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _column(page: Page, table: str, number: int) -> Any:
    """The cells of column `number` (from 1) of the table with id `table`."""
    return page.locator(f"#{table} tbody tr td:nth-child({number})")


def _pages(answer: dict[str, Any]) -> str:
    pages = max(1, -(-answer["total"] // answer["per_page"]))
    return f"Page {answer['page']} of {pages}"


def _expect_titles(tab: Page, api: Api, **query: str) -> dict[str, Any]:
    """The table shows, in order, the titles GET /titles answers for `query`."""
    answer = _items(api, "/titles", **query)
    expect(_column(tab, "titles-table", 1)).to_have_text([t["title"] for t in answer["items"]])
    pager = tab.get_by_role("navigation", name="Pages of titles")
    expect(pager).to_contain_text(_pages(answer))
    return answer


def _query(page: Page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_titles_filter_sort_page_and_search_kept_in_the_url(
    catalogues: Api, signed_in: Page
) -> None:
    page = signed_in
    page.goto("/titles")
    _expect_titles(page, catalogues)
    page.get_by_label("Type", exact=True).select_option("Movie")
    page.get_by_label("Sort by", exact=True).select_option("release_year")
    page.get_by_label("Order", exact=True).select_option("Ascending")
    query = {"type": "Movie", "sort_by": "release_year", "sort_order": "1"}
    first = _expect_titles(page, catalogues, **query)
    assert first["total"] > 10  # more than a page
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("th[aria-sort]")).to_have_text(re.compile("^Year"))
    assert _query(page) == query

    previous = page.get_by_role("button", name="Previous page")
    expect(previous).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    _expect_titles(page, catalogues, **query, page="2")
    assert _query(page) == {**query, "page": "2"}
    page.reload()  # the URL keeps the state
    _expect_titles(page, catalogues, **query, page="2")
    expect(page.get_by_label("Type", exact=True)).to_have_value("Movie")
    previous.click()
    _expect_titles(page, catalogues, **query)

    page.get_by_role("button", name="Clear filters").click()
    page.get_by_label("Title, cast or director contains").fill("QUILLFEATHER")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(_column(page, "titles-table", 1)).to_have_text([DIRECTED])
    expect(_column(page, "titles-table", 3)).to_have_text([DIRECTOR])
    assert _query(page) == {"q": "QUILLFEATHER", "sort_by": "release_year", "sort_order": "1"}
    page.go_back()  # back to before the search: the filters cleared
    _expect_titles(page, catalogues, sort_by="release_year", sort_order="1")
    expect(page.get_by_label("Title, cast or director contains")).to_have_value("")
    page.go_back()  # and before that: movies only
    _expect_titles(page, catalogues, **query)
    expect(page.get_by_label("Type", exact=True)).to_have_value("Movie")


def test_titles_with_the_keyboard_country_filter_and_column_heads(
    catalogues: Api, signed_in: Page
) -> None:
    page = signed_in
    page.goto("/titles")
    country = page.get_by_label("Country, as listed")
    country.focus()
    page.keyboard.type("France, Belgium")
    page.keyboard.press("Enter")  # submits the form
    answer = _expect_titles(page, catalogues, country="France, Belgium")
    assert answer["total"] > 0
    expect(_column(page, "titles-table", 4)).to_have_text(
        ["France, Belgium"] * len(answer["items"])
    )

    head = page.get_by_role("button", name="Title", exact=True)
    head.focus()
    page.keyboard.press("Enter")  # a column head sorts: ascending first
    _expect_titles(page, catalogues, country="France, Belgium", sort_by="title", sort_order="1")
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.keyboard.press("Space")  # the same head again: the other way
    _expect_titles(page, catalogues, country="France, Belgium", sort_by="title", sort_order="-1")
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_label("Sort by", exact=True)).to_have_value("title")
    expect(page.get_by_label("Order", exact=True)).to_have_value("-1")


def test_bad_title_filters_show_the_apis_detail(
    catalogues: Api, signed_in: Page, console_errors: list[str]
) -> None:
    page = signed_in
    page.goto("/titles")
    expect(_column(page, "titles-table", 1).first).not_to_be_empty()
    page.get_by_label("Release year").fill("abc")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(BAD_YEAR)
    expect(page.locator("#titles-table tbody")).to_have_text("No titles to show.")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    page.goto("/titles?release_year=abc")  # the same, straight from the URL
    expect(page.get_by_role("alert")).to_have_text(BAD_YEAR)
    expect(page.get_by_label("Release year")).to_have_value("abc")
    page.goto("/titles?sort_by=year")
    expect(page.get_by_role("alert")).to_contain_text("sort_by must be one of: cast, country")

    page.get_by_label("Sort by", exact=True).select_option("title")  # a good one clears it
    expect(page.get_by_role("alert")).to_be_hidden()
    _expect_titles(page, catalogues, sort_by="title")
    # The browser logs each refused call as a failed resource load: that is the API
    # answering, not the page failing.
    console_errors[:] = [e for e in console_errors if "Failed to load resource" not in e]


def _expect_products(tab: Page, api: Api, **query: str) -> dict[str, Any]:
    """The products table shows, in order, the skus GET /products answers for `query`."""
    answer = _items(api, "/products", **query)
    expect(_column(tab, "products-table", 1)).to_have_text([p["sku"] for p in answer["items"]])
    expect(_column(tab, "products-table", 2)).to_have_text([p["name"] for p in answer["items"]])
    return answer


def test_products_search_sort_and_paging(catalogues: Api, signed_in: Page) -> None:
    page = signed_in
    page.goto("/products")
    _expect_products(page, catalogues)
    page.get_by_label("Name or SKU contains").fill("lantern")
    page.get_by_role("button", name="Search", exact=True).click()
    answer = _expect_products(page, catalogues, q="lantern")
    assert answer["total"] >= PRODUCT_NAMES["Brass Lantern"]
    page.get_by_label("Sort by", exact=True).select_option("sku")
    page.get_by_label("Order", exact=True).select_option("Ascending")
    _expect_products(page, catalogues, q="lantern", sort_by="sku", sort_order="1")
    assert _query(page) == {"q": "lantern", "sort_by": "sku", "sort_order": "1"}

    page.get_by_role("button", name="Clear search").click()
    query = {"sort_by": "sku", "sort_order": "1"}
    _expect_products(page, catalogues, **query)
    pager = page.get_by_role("navigation", name="Pages of products")
    pager.get_by_role("button", name="Next page").click()
    answer = _expect_products(page, catalogues, **query, page="2")
    expect(pager).to_contain_text(_pages(answer))
    page.reload()
    _expect_products(page, catalogues, **query, page="2")


def test_products_aggregates_table_and_chart(catalogues: Api, signed_in: Page) -> None:
    page = signed_in
    page.goto("/products")
    top = _items(catalogues, "/products/aggregates")
    expect(_column(page, "names-table", 1)).to_have_text([a["name"] for a in top["items"]])
    expect(_column(page, "names-table", 2)).to_have_text([str(a["count"]) for a in top["items"]])
    assert top["items"][0] == {"name": "Brass Lantern", "count": 8}

    canvas = page.get_by_role("img", name=re.compile("names with the most products"))
    expect(canvas).to_have_attribute("aria-label", re.compile(r"largest first\. Brass Lantern: 8;"))
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    drawn = page.evaluate(
        """() => {
          const canvas = document.getElementById("names-chart");
          const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
          return painted;
        }"""
    )
    assert drawn > 1000, "the chart's canvas is blank"

    names = page.get_by_role("navigation", name="Pages of names")
    page.locator("#names-table").get_by_role("button", name="Name", exact=True).click()
    by_name = _items(catalogues, "/products/aggregates", sort_by="name", sort_order="1")
    expect(_column(page, "names-table", 1)).to_have_text([a["name"] for a in by_name["items"]])
    expect(names).to_contain_text(_pages(by_name))
    assert _query(page) == {"names_sort_by": "name", "names_sort_order": "1"}


@pytest.mark.parametrize("path", ["/titles", "/products"])
def test_catalogue_pages_are_accessible_at_both_widths(
    catalogues: Api, signed_in: Page, snapshot: Callable[[Page, str], Path], path: str
) -> None:
    page = signed_in
    name = path.strip("/")
    page.goto(path)
    expect(_column(page, f"{name}-table", 1).first).not_to_be_empty()
    if name == "products":
        chart = page.get_by_role("img", name=re.compile("largest first"))
        expect(chart).to_be_visible()
    assert_accessible(page)
    snapshot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    # Nothing wider than the phone, once the chart has followed the new width. Polled from
    # here: wait_for_function would compile its test in the page, which the CSP forbids.
    wait_until(
        lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
        5,
        "the page to fit 390 px",
    )
    assert_accessible(page)
    snapshot(page, f"{name}-390")
