"""Finding rows by the start of their id, as people type ids (`id_prefix` of the listings).

People copy the first few characters of an id, like a git commit's; the listings of files
and jobs take such a prefix, with or without the dashes of the UUID's text form.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from lfp.errors import Unprocessable

_HEX = re.compile(r"[0-9a-f]{1,32}")


def id_starts_with(column: InstrumentedAttribute[uuid.UUID], prefix: str) -> ColumnElement[bool]:
    """A condition keeping the rows whose id's 32 hex digits start with `prefix`'s.

    `Unprocessable` unless `prefix` holds 1 to 32 hex digits once its dashes are dropped.
    """
    digits = prefix.replace("-", "").lower()
    if not _HEX.fullmatch(digits):
        raise Unprocessable(
            f"id_prefix {prefix!r} must hold 1 to 32 hex digits (dashes are ignored)"
        )
    # The ids starting with these digits are exactly those between the prefix padded with
    # 0s and with fs: one range that works alike on SQLite (32 lowercase hex characters)
    # and PostgreSQL (native uuid, ordered by its bytes), and uses the primary key's index.
    low = uuid.UUID(digits.ljust(32, "0"))
    high = uuid.UUID(digits.ljust(32, "f"))
    return column.between(low, high)
