"""HTTP routes of the products query API."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Query

from lfp.catalog.products.schemas import ProductAggregateOut, ProductOut
from lfp.catalog.products.service import AggregateSort, ProductService, ProductSort
from lfp.catalog.query import MAX_PER_PAGE, PageQuery, choice, no_nul, page_query
from lfp.deps import AppServices, current_user
from lfp.http.pagination import Page

# Every route needs a signed-in user, though none of them needs to know which.
router = APIRouter(prefix="/products", tags=["catalog"], dependencies=[Depends(current_user)])


# Declared as plain strings and checked here, so that a bad value is a 400 naming what is
# allowed (FastAPI's own validation would answer 422).
PageParam = Annotated[str | None, Query(description="1-based page number (default 1).")]
PerPageParam = Annotated[
    str | None, Query(description=f"Items per page, 1 to {MAX_PER_PAGE} (default 10).")
]
OrderParam = Annotated[
    str | None, Query(description="-1 for descending (the default), 1 for ascending.")
]


@router.get("", response_model=Page[ProductOut])
def list_products(
    services: AppServices,
    page: PageParam = None,
    per_page: PerPageParam = None,
    sort_by: Annotated[
        str | None, Query(description="sku, name or updated_at (default updated_at).")
    ] = None,
    sort_order: OrderParam = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive text in name or sku.")
    ] = None,
) -> Page[ProductOut]:
    """Products, one page at a time, sorted and optionally filtered."""
    query = page_query(page, per_page, sort_order)
    sort = choice("sort_by", sort_by, get_args(ProductSort), "updated_at")
    q = no_nul("q", q)
    items, total = ProductService(services.db).list_products(query, sort_by=sort, q=q)
    return _paged([ProductOut.model_validate(p) for p in items], query, total)


@router.get("/aggregates", response_model=Page[ProductAggregateOut])
def list_aggregates(
    services: AppServices,
    page: PageParam = None,
    per_page: PerPageParam = None,
    sort_by: Annotated[str | None, Query(description="name or count (default count).")] = None,
    sort_order: OrderParam = None,
) -> Page[ProductAggregateOut]:
    """How many products carry each name, one page at a time."""
    query = page_query(page, per_page, sort_order)
    sort = choice("sort_by", sort_by, get_args(AggregateSort), "count")
    items, total = ProductService(services.db).aggregates(query, sort_by=sort)
    return _paged([ProductAggregateOut.model_validate(a) for a in items], query, total)


@router.get("/{sku}", response_model=ProductOut)
def get_product(sku: str, services: AppServices) -> ProductOut:
    """One product by its sku."""
    product = ProductService(services.db).get(sku)
    return ProductOut.model_validate(product)


def _paged(items: list[Any], query: PageQuery, total: int) -> Page[Any]:
    return Page(items=items, page=query.page, per_page=query.per_page, total=total)
