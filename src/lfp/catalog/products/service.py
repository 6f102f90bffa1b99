"""Queries over the products catalogue: pages of products and of per-name counts, one product."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from lfp.catalog.products.models import Product, ProductAggregate
from lfp.catalog.query import PageQuery
from lfp.db.engine import Database
from lfp.errors import NotFound

ProductSort = Literal["sku", "name", "updated_at"]
AggregateSort = Literal["name", "count"]


class ProductService:
    """Read access to the products every `products` job loads (one catalogue for all users)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list_products(
        self, query: PageQuery, *, sort_by: ProductSort, q: str | None
    ) -> tuple[list[Product], int]:
        """One page of products, filtered by `q` (in name or sku), and how many match."""
        statement = select(Product)
        if q:
            statement = statement.where(
                or_(
                    Product.name.icontains(q, autoescape=True),
                    Product.sku.icontains(q, autoescape=True),
                )
            )
        columns: dict[str, InstrumentedAttribute[Any]] = {
            "sku": Product.sku,
            "name": Product.name,
            "updated_at": Product.updated_at,
        }
        return self._page(statement, query, columns[sort_by], Product.sku)

    def aggregates(
        self, query: PageQuery, *, sort_by: AggregateSort
    ) -> tuple[list[ProductAggregate], int]:
        """One page of (name, number of products), and how many names there are."""
        columns: dict[str, InstrumentedAttribute[Any]] = {
            "name": ProductAggregate.name,
            "count": ProductAggregate.count,
        }
        column = columns[sort_by]
        return self._page(select(ProductAggregate), query, column, ProductAggregate.name)

    def get(self, sku: str) -> Product:
        """The product with this sku, as written or as a case-insensitive load keyed it."""
        key = sku.strip()
        if "\x00" in key:  # no product holds one, and PostgreSQL refuses it in a query
            raise NotFound(f"no product with sku {sku!r}")
        with self._db.read() as session:
            # A case-insensitive load stores the lower-cased sku (see the products processor).
            product = session.get(Product, key) or session.get(Product, key.lower())
        if product is None:
            raise NotFound(f"no product with sku {sku!r}")
        return product

    def _page(
        self,
        statement: Select[Any],
        query: PageQuery,
        column: InstrumentedAttribute[Any],
        tiebreak: InstrumentedAttribute[Any],
    ) -> tuple[list[Any], int]:
        # The tiebreak follows the same direction so one index serves the whole order.
        order = [column, tiebreak] if column is not tiebreak else [column]
        direction = [c.desc() if query.sort_order < 0 else c.asc() for c in order]
        with self._db.read() as session:
            total = session.scalar(select(func.count()).select_from(statement.subquery()))
            items = session.scalars(
                statement.order_by(*direction)
                .offset((query.page - 1) * query.per_page)
                .limit(query.per_page)
            ).all()
        return list(items), total or 0
