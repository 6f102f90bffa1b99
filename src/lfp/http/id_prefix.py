"""The `id_prefix` query parameter of the files and jobs listings, declared once for both."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# Hex digits and dashes only; what they must add up to is checked by `lfp.db.id_prefix`.
IdPrefix = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=36,
        pattern=r"^[0-9a-fA-F-]+$",
        description="Only rows whose id starts with these hex digits (dashes ignored).",
    ),
]
