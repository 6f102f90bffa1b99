"""Processor params from the command line: `key=value` pairs read against the params schema."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


class ParamError(ValueError):
    """A `--param` that cannot be read; the message says which and why."""


def parse_params(pairs: Iterable[str], schema: dict[str, Any] | None) -> dict[str, Any]:
    """`key=value` pairs as a params object for a processor with JSON schema `schema`.

    A value is read as JSON when it is valid JSON (`3`, `true`, `["a","b"]`,
    `[{"column":"plays","function":"sum"}]`), except for string params, which keep the
    text as typed. A list param also takes comma-separated text: `algorithms=md5,sha256`.
    """
    properties: dict[str, Any] = (schema or {}).get("properties", {})
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamError(f"--param {pair!r} is not key=value")
        types = _types(properties.get(key, {}))
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if "string" in types and not isinstance(value, str):
            value = text
        elif "array" in types and not isinstance(value, list):
            value = [item.strip() for item in text.split(",") if item.strip()]
        params[key] = value
    return params


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property accepts (following anyOf, as optional fields have)."""
    found: set[str] = set()
    if isinstance(schema.get("type"), str):
        found.add(schema["type"])
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        found.add("string")
    for option in schema.get("anyOf", []):
        found |= _types(option)
    return found
