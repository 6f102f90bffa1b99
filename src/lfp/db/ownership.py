"""Every resource belongs to a user: loading a row on behalf of its owner, or `NotFound`.

Another user's row is answered exactly like a missing one, so ids leak nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from lfp.errors import NotFound


class Owned(Protocol):
    """A row with an owner."""

    owner_id: Any


R = TypeVar("R", bound=Owned)


def get_owned(
    session: Session,
    model: type[R],
    row_id: uuid.UUID,
    owner_id: uuid.UUID,
    *,
    what: str,
    lock: bool = False,
) -> R:
    """The `model` row `row_id` if `owner_id` owns it (locked for update if `lock`)."""
    row = session.get(model, row_id, with_for_update=lock)
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no {what} {row_id}")
    return row
