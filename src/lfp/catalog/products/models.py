"""Tables of the products catalogue: the products and the number of products per name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lfp.db.base import Base

SKU_MAX = 255
NAME_MAX = 1000


def _code_point_string(length: int) -> String:
    """A string that sorts by code point on every database: SQLite's BINARY, PostgreSQL's "C"."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Product(Base):
    """A product; `sku` is its key as the load that wrote it normalised it (see the processor)."""

    __tablename__ = "products"
    __table_args__ = (
        # Every sort the API offers, each with the sku as its tiebreak, walks an index.
        Index("ix_products_name_sku", "name", "sku"),
        Index("ix_products_updated_at_sku", "updated_at", "sku"),
    )

    sku: Mapped[str] = mapped_column(_code_point_string(SKU_MAX), primary_key=True)
    name: Mapped[str] = mapped_column(_code_point_string(NAME_MAX))
    description: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ProductAggregate(Base):
    """How many products carry a name; kept exact by every load."""

    __tablename__ = "product_aggregates"
    __table_args__ = (Index("ix_product_aggregates_count_name", "count", "name"),)

    name: Mapped[str] = mapped_column(_code_point_string(NAME_MAX), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
