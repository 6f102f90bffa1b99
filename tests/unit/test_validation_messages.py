"""Pydantic's validation errors rewritten in the user's words (lfp.validation_messages)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lfp.validation_messages import describe, example_at, message, rewritten, shape_of


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = Field(examples=["amount"])
    as_: str | None = Field(default=None, alias="as", examples=["total"])


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: list[Part] = Field(min_length=1, examples=[[{"column": "amount", "as": "total"}]])
    count: int = Field(default=1, examples=[3])
    flag: bool = Field(default=False, examples=[True])
    name: str = "x"  # no example

    @field_validator("name")
    @classmethod
    def _not_bad(cls, value: str) -> str:
        if value == "bad":
            raise ValueError("the name cannot be bad")
        if value == "worse":  # not `assert`: pytest rewrites those in test modules
            raise AssertionError("the name cannot be worse")
        return value


def _errors(data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        Shape.model_validate(data)
    return [dict(e) for e in caught.value.errors()]


def _described(data: Any) -> list[str]:
    return [describe(e, Shape) for e in _errors(data)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"parts": {"column": "a"}},
            'parts: must be a list of objects such as [{"column": "amount", "as": "total"}]',
        ),
        (
            {"parts": ["a"]},
            'parts.0: must be an object such as {"column": "amount", "as": "total"}',
        ),
        ({}, 'parts: is required: a list of objects such as [{"column": "amount", "as": "total"}]'),
        (
            {"parts": []},
            'parts: must have at least 1 item, such as [{"column": "amount", "as": "total"}]',
        ),
        ({"parts": [{}]}, 'parts.0.column: is required: text such as "amount"'),
        ({"parts": [{"column": "a", "as": 5}]}, 'parts.0.as: must be text such as "total"'),
        ({"parts": [{"column": "a"}], "count": "many"}, "count: must be a whole number such as 3"),
        ({"parts": [{"column": "a"}], "flag": "maybe"}, "flag: must be true or false"),
        ({"parts": [{"column": "a"}], "name": "bad"}, "name: the name cannot be bad"),
        ({"parts": [{"column": "a"}], "name": "worse"}, "name: the name cannot be worse"),
        ({"parts": [{"column": "a"}], "name": 5}, "name: must be text"),
        (
            {"parts": [{"column": "a"}], "colour": 1},
            "colour: is not a known field; the fields are: parts, count, flag, name",
        ),
    ],
)
def test_errors_read_in_user_words_with_the_expected_shape(data: Any, expected: str) -> None:
    assert _described(data) == [expected]


def test_a_whole_value_of_the_wrong_kind() -> None:
    assert _described([1, 2]) == ["params: must be a JSON object"]


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("Value error, the delimiter cannot be a quote", "the delimiter cannot be a quote"),
        ("Assertion failed, nope", "nope"),
        ("Input should be a valid dictionary or instance of Aggregate", "must be a JSON object"),
        (
            "Input should be a valid dictionary or object to extract fields from",
            "must be a JSON object",
        ),
        ("Input should be a valid dictionary", "must be a JSON object"),
        ("Input should be an instance of Decimal", "has the wrong type"),
        ("Input should be a valid list", "must be a list"),
        (
            "Input should be a valid integer, unable to parse string as an integer",
            "must be a whole number",
        ),
        ("Input should be a valid boolean, unable to interpret input", "must be true or false"),
        ("Input should be 'fail' or 'skip'", "must be 'fail' or 'skip'"),
        ("String should have at least 8 characters", "must have at least 8 characters"),
        ("List should have at least 1 item after validation, not 0", "must have at least 1 item"),
        ("Field required", "is required"),
        ("Extra inputs are not permitted", "is not a known field"),
        (
            "value is not a valid email address: An email address must have an @-sign.",
            "value is not a valid email address: An email address must have an @-sign.",
        ),
    ],
)
def test_message_rewrites(msg: str, expected: str) -> None:
    assert message({"type": "x", "msg": msg}) == expected


def test_invalid_json_names_the_parser_s_reason() -> None:
    error = {
        "type": "json_invalid",
        "msg": "JSON decode error",
        "ctx": {"error": "Expecting value"},
    }
    assert message(error) == "is not valid JSON (Expecting value)"


def test_rewritten_keeps_everything_but_the_message() -> None:
    found = rewritten([{"type": "missing", "loc": ("parts",), "msg": "Field required"}])
    assert found == [{"type": "missing", "loc": ("parts",), "msg": "is required"}]


def test_examples_are_found_along_the_location() -> None:
    assert example_at(Shape, ["parts", 2, "as"]) == (True, "total")
    assert example_at(Shape, ["parts", 0, "unknown"]) == (False, None)
    assert example_at(Shape, ["name"]) == (False, None)
    assert example_at(Shape, []) == (False, None)


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ([{"a": 1}], "a list of objects"),
        (["a", "b"], "a list of text"),
        ([1, 2], "a list of whole numbers"),
        ([1, "a"], "a list"),
        ({"a": 1}, "an object"),
        (1.5, "a number"),
        (None, "null"),
    ],
)
def test_shapes(value: Any, shape: str) -> None:
    assert shape_of(value) == shape
