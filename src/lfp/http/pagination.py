"""Paged lists: the `page` and `per_page` query parameters and the page body they give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class PageParams:
    """Which page of a list the client asks for, and how long pages are."""

    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Query(ge=1, le=100)] = 20

    def of(self, items: list[T], total: int) -> Page[T]:
        """The page body holding `items`, one page of `total`."""
        return Page(items=items, page=self.page, per_page=self.per_page, total=total)


Paging = Annotated[PageParams, Depends()]
