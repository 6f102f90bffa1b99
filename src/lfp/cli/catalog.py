"""The catalogue commands: `titles` and `products`, paged, sorted and filtered like the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lfp.cli.common import _config, _errors, _signed_in
from lfp.cli.render import _print_catalog

Page = Annotated[int, typer.Option(min=1, help="Page number")]
PerPage = Annotated[int, typer.Option(min=1, max=100, help="Rows per page")]
SortOrder = Annotated[
    int | None, typer.Option(help="-1 descending, 1 ascending [default: the server's, -1]")
]
Search = Annotated[str | None, typer.Option("--q", "-q", help="Search text")]


def titles(
    ctx: typer.Context,
    page: Page = 1,
    per_page: PerPage = 10,
    sort_by: Annotated[
        str | None, typer.Option(help="Column to sort by [default: date_added]")
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    type_: Annotated[str | None, typer.Option("--type", help="Movie or TV Show")] = None,
    country: Annotated[str | None, typer.Option(help="Only this country")] = None,
    release_year: Annotated[int | None, typer.Option(help="Only this release year")] = None,
) -> None:
    """List the titles catalogue, paged, sorted and filtered like GET /titles."""
    _show(
        ctx,
        "titles",
        ("show_id", "type", "title", "country", "date_added", "release_year"),
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
        typer.Option(help="sku, name or updated_at; with --aggregates name or count"),
    ] = None,
    sort_order: SortOrder = None,
    q: Search = None,
    aggregates: Annotated[
        bool, typer.Option("--aggregates", help="Names and their number of products instead")
    ] = False,
) -> None:
    """List the products catalogue (or, with --aggregates, products per name)."""
    paging = _paging(page, per_page, sort_by, sort_order)
    if aggregates:
        # The aggregates endpoint has no search: --q is not sent there.
        _show(ctx, "products/aggregates", ("name", "count"), **paging)
        return
    _show(ctx, "products", ("sku", "name", "updated_at"), **paging, q=q)


def _paging(
    page: int, per_page: int, sort_by: str | None, sort_order: int | None
) -> dict[str, Any]:
    """The paging and sorting params every catalogue takes (None ones are not sent)."""
    return {"page": page, "per_page": per_page, "sort_by": sort_by, "sort_order": sort_order}


def _show(ctx: typer.Context, name: str, columns: tuple[str, ...], **query: Any) -> None:
    """Fetch one page of the catalogue `name` and print `columns` of its items."""
    with _errors():
        result = _signed_in(_config(ctx)).catalog(name, **query)
    _print_catalog(result, name, columns)
