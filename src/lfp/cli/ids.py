"""Ids as people type them: a whole UUID, or any unique start of one, like a git commit's.

A prefix needs at least `MIN_PREFIX` hex digits (dashes anywhere are ignored) and is looked
up with one listing call (`id_prefix` of `GET /files` or `GET /jobs`), whose item is the
file or job itself; a whole UUID is fetched directly. The errors are `LfpError`s with
status 0, so `_errors()` prints them as one reason and exits 1.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from lfp.client import LfpClient, LfpError

# Fewer digits would match too much to be worth a lookup (and 4 is what git accepts).
MIN_PREFIX = 4
# How many candidates an ambiguous prefix lists.
_SHOWN = 10
_HEX = re.compile(r"[0-9a-f]+")

Describe = Callable[[dict[str, Any]], str]


def file(client: LfpClient, text: str) -> dict[str, Any]:
    """The caller's file whose id is or starts with `text`."""
    return _resolve(
        text,
        "file",
        client.get_file,
        lambda prefix: client.list_files(1, _SHOWN, id_prefix=prefix),
        lambda f: f"{f['id']}  {f['filename']}  {f['created_at'][:19]}",
    )


def job(client: LfpClient, text: str) -> dict[str, Any]:
    """The caller's job whose id is or starts with `text`."""
    return _resolve(
        text,
        "job",
        client.get_job,
        lambda prefix: client.list_jobs(1, _SHOWN, id_prefix=prefix),
        lambda j: f"{j['id']}  {j['processor']}  {j['queued_at'][:19]}",
    )


def _resolve(
    text: str,
    noun: str,
    get: Callable[[str], dict[str, Any]],
    listing: Callable[[str], dict[str, Any]],
    describe: Describe,
) -> dict[str, Any]:
    """The `noun` `text` names: fetched by `get` for a whole id, found through `listing`
    (whose items are the same objects) for a prefix."""
    digits = text.strip().replace("-", "").lower()
    if not _HEX.fullmatch(digits) or len(digits) > 32:
        raise LfpError(0, f"{text!r} is not a {noun} id: give hex digits (dashes allowed)")
    if len(digits) == 32:
        return get(str(uuid.UUID(digits)))
    if len(digits) < MIN_PREFIX:
        raise LfpError(
            0, f"{noun} id {text!r} is too short: give at least {MIN_PREFIX} of its hex digits"
        )
    page = listing(digits)
    items: list[dict[str, Any]] = page["items"]
    if not items:
        raise LfpError(0, f"no {noun} with an id starting {text!r}")
    if page["total"] > 1:
        lines = [f"  {describe(item)}" for item in items]
        if page["total"] > len(items):
            lines.append(f"  and {page['total'] - len(items)} more")
        raise LfpError(
            0,
            f"{noun} id {text!r} is ambiguous: {page['total']} {noun}s match; "
            "give more of it:\n" + "\n".join(lines),
        )
    return items[0]
