"""The catalogue commands: `titles` and `products`, paged, sorted and filtered like the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lfp.cli.common import AsJson, _config, _errors, _signed_in, print_json
from lfp.cli.render import _print_catalog

Page = Annotated[int, typer.Option(min=1, help="Page number")]
PerPage = Annotated[int, typer.Option(min=1, max=100, help="Rows per page")]
SortOrder = Annotated[
    int | None, typer.Option(help="-1 descending, 1 ascending (default: -1, descending)")
]
Search = Annotated[str | None, typer.Option("--q", "-q", help="Search text")]


def titles(
    ctx: typer.Context,
    page: Page = 1,
    per_page: PerPage = 10,
    sort_by: Annotated[
        str | None,
        typer.Option(help="Column to sort by, e.g. title or release_year (default: date_added)"),
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    type_: Annotated[str | None, typer.Option("--type", help="Movie or TV Show (any case)")] = None,
    country: Annotated[
        str | None, typer.Option(help="Titles listing this country (any case), e.g. france")
    ] = None,
    release_year: Annotated[int | None, typer.Option(help="Only this release year")] = None,
    as_json: AsJson = False,
) -> None:
    """List the titles catalogue, paged, sorted and filtered like GET /titles.

    Default order: the most recently added first (date_added descending, undated last).
    """
    _show(
        ctx,
        "titles",
        ("show_id", "type", "title", "country", "date_added", "release_year"),
        as_json,
        **_paging(page, per_page, sort_by, sort_order),
        q=q,
        type=type_,
        country=country,
        release_year=release_year,
    )


def products(
    ctx: typer.Context,
    page: Page = 1,
    per_page: PerPage = 10,
    sort_by: Annotated[
        str | None,
        typer.Option(
            help="sku, name or updated_at (default: updated_at); "
            "with --aggregates name or count (default: count)"
        ),
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    aggregates: Annotated[
        bool, typer.Option("--aggregates", help="Names and their number of products instead")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List the products catalogue (or, with --aggregates, products per name).

    Default order: the most recently loaded first (updated_at descending); with
    --aggregates the names most products share first (count descending).
    """
    paging = _paging(page, per_page, sort_by, sort_order)
    if aggregates:
        # The aggregates endpoint has no search: --q is not sent there.
        _show(ctx, "products/aggregates", ("name", "count"), as_json, **paging)
        return
    _show(ctx, "products", ("sku", "name", "updated_at"), as_json, **paging, q=q)


def _paging(
    page: int, per_page: int, sort_by: str | None, sort_order: int | None
) -> dict[str, Any]:
    """The paging and sorting params every catalogue takes (None ones are not sent)."""
    return {"page": page, "per_page": per_page, "sort_by": sort_by, "sort_order": sort_order}


def _show(
    ctx: typer.Context, name: str, columns: tuple[str, ...], as_json: bool, **query: Any
) -> None:
    """Fetch one page of the catalogue `name`; print `columns` of its items, or the JSON."""
    with _errors():
        result = _signed_in(_config(ctx)).catalog(name, **query)
    if as_json:
        print_json(result)
        return
    _print_catalog(result, name, columns)
