"""Request text that cannot be stored: NUL characters (U+0000), which PostgreSQL refuses.

Framework-free, so that every layer reading client text (the request guard, the form
reader, tus metadata, processor params) finds and names a NUL the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

NUL = "\x00"


def shown(text: str) -> str:
    """`text` as a detail may show it: a NUL character written as `\\0`."""
    return text.replace(NUL, "\\0")


def nul_locations(value: object, loc: list[Any]) -> Iterator[list[Any]]:
    """Where in a JSON document a string (or a member name) holds a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield [*loc, key]
            yield from nul_locations(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_locations(item, [*loc, index])


def dotted(loc: list[Any]) -> str:
    """A location in a document as a detail names it: `params.algorithms.0`."""
    return ".".join(shown(str(part)) for part in loc)
