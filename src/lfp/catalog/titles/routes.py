"""HTTP routes of the titles query API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from lfp.catalog.titles.models import SORTABLE
from lfp.catalog.titles.schemas import TitleOut, TitlePage
from lfp.catalog.titles.service import TitleService, parse_query
from lfp.deps import AppServices, current_user

# Every route needs a signed-in user, though none of them needs to know which.
router = APIRouter(prefix="/titles", tags=["catalog"], dependencies=[Depends(current_user)])


def title_service(services: AppServices) -> TitleService:
    """The titles catalogue on the process's database."""
    return TitleService(services.db)


Titles = Annotated[TitleService, Depends(title_service)]
# Declared as text and checked by the service, so that a bad value is a 400 naming the
# allowed values (FastAPI's own checks would answer 422).
_SORT_BY = f"One of: {', '.join(sorted(SORTABLE))}. Default date_added (newest first)."


@router.get("", response_model=TitlePage)
def list_titles(
    titles: Titles,
    page: Annotated[str | None, Query(description="Page number, from 1.")] = None,
    per_page: Annotated[str | None, Query(description="1 to 100, default 10.")] = None,
    sort_by: Annotated[str | None, Query(description=_SORT_BY)] = None,
    sort_order: Annotated[
        str | None, Query(description="-1 descending (default) or 1 ascending.")
    ] = None,
    type: Annotated[str | None, Query(description="Only this type, any case.")] = None,
    country: Annotated[
        str | None,
        Query(description="Only titles listing this country (any case; comma-separated: all)."),
    ] = None,
    release_year: Annotated[str | None, Query(description="Only this release year.")] = None,
    q: Annotated[
        str | None, Query(description="Text in the title, cast or director (any case).")
    ] = None,
) -> TitlePage:
    """A page of titles, filtered and sorted; NULLs sort last, ties by show_id."""
    query = parse_query(
        page=page,
        per_page=per_page,
        sort_by=sort_by,
        sort_order=sort_order,
        type=type,
        country=country,
        release_year=release_year,
        q=q,
    )
    items, total = titles.page(query)
    return TitlePage(
        items=[TitleOut.model_validate(t) for t in items],
        page=query.paging.page,
        per_page=query.paging.per_page,
        total=total,
    )


@router.get("/{show_id}", response_model=TitleOut)
def get_title(show_id: str, titles: Titles) -> TitleOut:
    """One title by its show_id; 404 when there is none."""
    return TitleOut.model_validate(titles.get(show_id))
