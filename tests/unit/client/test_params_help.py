"""Processor params in words for `lfp processors --verbose` (lfp.cli.params_help)."""

from __future__ import annotations

from typing import Any

import pytest

from lfp.cli.params_help import describe_type, params_help, verbose_lines


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ({"type": "string"}, "text"),
        ({"type": "integer", "minimum": 1, "maximum": 20}, "integer from 1 to 20"),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 60}, "number above 0 up to 60"),
        ({"type": "integer", "minimum": 0}, "integer at least 0"),
        ({"type": "boolean"}, "true or false"),
        ({"type": "string", "enum": ["skip", "fail"]}, "one of: skip, fail"),
        ({"type": "array", "items": {"type": "string"}}, "list of text"),
        (
            {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            "list of integers (at least 1)",
        ),
        ({"type": "array", "items": {"enum": ["md5", "sha1"]}}, "list, each one of: md5, sha1"),
        ({"type": "array", "items": {"$ref": "#/$defs/Part"}}, "list of objects"),
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            "object whose values are text",
        ),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "text or null"),
        ({"type": "string", "minLength": 1, "maxLength": 1}, "text, exactly 1 character"),
        ({}, "any value"),
    ],
)
def test_types_in_words(field: dict[str, Any], kind: str) -> None:
    assert describe_type(field, {"Part": {"type": "object", "properties": {}}}) == kind


SCHEMA: dict[str, Any] = {
    "$defs": {
        "Part": {
            "type": "object",
            "properties": {"column": {"type": "string", "examples": ["amount"]}},
            "required": ["column"],
        }
    },
    "properties": {
        "parts": {
            "type": "array",
            "items": {"$ref": "#/$defs/Part"},
            "description": "The parts.",
            "examples": [[{"column": "amount"}]],
        },
        "mode": {"enum": ["a", "b"], "default": "a", "examples": ["b"]},
        "note": {"type": "string"},
    },
    "required": ["parts"],
}


def test_params_with_default_example_and_fields() -> None:
    parts, mode, note = params_help(SCHEMA)
    assert (parts.kind, parts.default_text) == ("list of objects", "required")
    assert parts.argument == """--param 'parts=[{"column": "amount"}]'"""
    assert [(f.name, f.kind, f.default_text, f.example_text) for f in parts.fields] == [
        ("column", "text", "required", '"amount"')
    ]
    assert (mode.default_text, mode.argument) == ('default "a"', "--param mode=b")
    assert (note.default_text, note.argument, note.fields) == ("optional", None, [])


def test_verbose_lines() -> None:
    assert verbose_lines(SCHEMA) == [
        "    parts: list of objects (required)",
        "        The parts.",
        '        - column: text (required), e.g. "amount"',
        """        example: --param 'parts=[{"column": "amount"}]'""",
        '    mode: one of: a, b (default "a")',
        "        example: --param mode=b",
        "    note: text (optional)",
    ]
    assert verbose_lines({"properties": {}}) == ["    (no params)"]
