"""Processor params in words, from the JSON schema the server publishes, for `lfp processors`.

A param's JSON schema becomes a human type ("list of text", "integer from 1 to 20",
"one of: skip, fail"), its default and an example as a `--param` argument a user can paste.
The CLI reads only the published schema, never the server's models.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

_SCALARS = {
    "string": "text",
    "integer": "integer",
    "number": "number",
    "boolean": "true or false",
    "null": "null",
    "object": "object",
    "array": "list",
}
_MISSING = object()


@dataclass(frozen=True)
class ParamHelp:
    """One param as `lfp processors --verbose` shows it."""

    name: str
    kind: str
    required: bool
    default: Any  # _MISSING when there is none
    example: Any  # _MISSING when the schema gives none
    description: str
    fields: list[ParamHelp]  # an object's own fields, for a list of objects or an object

    @property
    def default_text(self) -> str:
        """`required`, `default <json>`, or empty when the param is optional without one."""
        if self.required:
            return "required"
        return "optional" if self.default is _MISSING else f"default {json.dumps(self.default)}"

    @property
    def example_text(self) -> str | None:
        """The example as JSON, or None."""
        return None if self.example is _MISSING else json.dumps(self.example)

    @property
    def argument(self) -> str | None:
        """The example as a shell-ready `--param` argument, or None."""
        if self.example is _MISSING:
            return None
        value = self.example
        text = value if isinstance(value, str) else json.dumps(value)
        return f"--param {shlex.quote(f'{self.name}={text}')}"


def params_help(schema: dict[str, Any]) -> list[ParamHelp]:
    """Every param of a processor's params schema, in the schema's order."""
    return _fields(schema, schema.get("$defs", {}))


def describe_type(field: dict[str, Any], defs: dict[str, Any] | None = None) -> str:
    """A JSON schema's type in words: "list of text", "one of: skip, fail", "object"."""
    defs = defs or {}
    field = _resolved(field, defs)
    if "enum" in field:
        return "one of: " + ", ".join(str(v) for v in field["enum"])
    if "const" in field:
        return f"exactly {json.dumps(field['const'])}"
    options = field.get("anyOf") or field.get("oneOf")
    if options:
        kinds = [describe_type(option, defs) for option in options if option.get("type") != "null"]
        nullable = len(kinds) < len(options)
        return " or ".join(kinds) + (" or null" if nullable else "")
    kind = field.get("type")
    if kind == "array":
        return _list_type(field, defs)
    if kind == "object" and isinstance(field.get("additionalProperties"), dict):
        return f"object whose values are {describe_type(field['additionalProperties'], defs)}"
    text = _SCALARS.get(str(kind), "any value")
    return text + _bounds(field) + _length(field)


def _fields(schema: dict[str, Any], defs: dict[str, Any]) -> list[ParamHelp]:
    required = set(schema.get("required", []))
    found = []
    for name, field in schema.get("properties", {}).items():
        found.append(
            ParamHelp(
                name=name,
                kind=describe_type(field, defs),
                required=name in required,
                default=field.get("default", _MISSING),
                example=(field.get("examples") or [_MISSING])[0],
                description=str(field.get("description", "")),
                fields=_nested(field, defs),
            )
        )
    return found


def _nested(field: dict[str, Any], defs: dict[str, Any]) -> list[ParamHelp]:
    # The fields of the objects a param holds (csv-aggregate's `aggregates`), to explain them.
    target = _resolved(field, defs)
    if target.get("type") == "array" and isinstance(target.get("items"), dict):
        target = _resolved(target["items"], defs)
    if target.get("type") == "object" and "properties" in target:
        return _fields(target, defs)
    return []


def _resolved(field: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = field.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"), {})
        return {**target, **{k: v for k, v in field.items() if k != "$ref"}}
    return field


def _list_type(field: dict[str, Any], defs: dict[str, Any]) -> str:
    items = field.get("items")
    item = describe_type(items, defs) if isinstance(items, dict) else ""
    if not item:
        text = "list"
    elif item.startswith("one of"):
        text = f"list, each {item}"
    else:
        text = f"list of {_plural(item)}"
    least = field.get("minItems")
    return f"{text} (at least {least})" if least else text


def _plural(kind: str) -> str:
    if kind.startswith(("text", "true or false", "list", "exactly", "one of")):
        return kind
    word, _, rest = kind.partition(" ")
    return f"{word}s" + (f" {rest}" if rest else "")


def _bounds(field: dict[str, Any]) -> str:
    low = field.get("minimum", field.get("exclusiveMinimum"))
    high = field.get("maximum", field.get("exclusiveMaximum"))
    above = "exclusiveMinimum" in field
    if low is not None and high is not None:
        return f" {'above' if above else 'from'} {low} {'up ' if above else ''}to {high}"
    if low is not None:
        return f" {'above' if above else 'at least'} {low}"
    if high is not None:
        return f" at most {high}"
    return ""


def _length(field: dict[str, Any]) -> str:
    shortest, longest = field.get("minLength"), field.get("maxLength")
    if longest is not None and shortest == longest:
        return f", exactly {longest} character{'s' if longest != 1 else ''}"
    if longest is not None:
        return f", at most {longest} characters"
    return ""


def verbose_lines(schema: dict[str, Any]) -> list[str]:
    """A processor's params for `lfp processors --verbose`: type, default, example, each."""
    lines = []
    for param in params_help(schema):
        lines.append(f"    {param.name}: {param.kind} ({param.default_text})")
        if param.description:
            lines.append(f"        {param.description}")
        for field in param.fields:
            example = f", e.g. {field.example_text}" if field.example_text else ""
            lines.append(f"        - {field.name}: {field.kind} ({field.default_text}){example}")
        if param.argument:
            lines.append(f"        example: {param.argument}")
    return lines or ["    (no params)"]
