"""Response bodies of the products query API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ProductOut(BaseModel):
    """A product as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    description: str
    updated_at: datetime


class ProductAggregateOut(BaseModel):
    """How many products carry a name."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    count: int
