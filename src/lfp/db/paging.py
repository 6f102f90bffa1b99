"""One page of a query's rows, with the count of all of them."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page_of(session: Session, query: Select[T], *, page: int, per_page: int) -> tuple[list[T], int]:
    """Rows `(page - 1) * per_page` onwards of `query` (already ordered), and the total."""
    counted: Select[Any] = select(func.count()).select_from(query.order_by(None).subquery())
    total = session.scalar(counted) or 0
    items = session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return list(items), total
