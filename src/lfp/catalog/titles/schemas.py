"""Response bodies of the titles API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class TitleOut(BaseModel):
    """A title as the API shows it; fields the file left empty are null."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    show_id: str
    type: str
    title: str | None
    director: str | None
    cast: str | None = Field(validation_alias="cast_members")
    country: str | None
    date_added: date | None
    release_year: int | None
    rating: str | None
    duration: str | None
    listed_in: str | None
    description: str | None


class TitlePage(BaseModel):
    """One page of titles, and how many match in all."""

    items: list[TitleOut]
    page: int
    per_page: int
    total: int
