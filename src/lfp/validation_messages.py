"""Pydantic's validation errors in the user's words, for problem details and job errors.

Pydantic writes for Python programmers: "Value error, ..." prefixes, "Input should be a valid
dictionary or instance of Aggregate" (a class name the user never sees). Every layer that shows
a validation error (the request-body handler, processor params) words it here, so a client
reads one vocabulary: "must be a JSON object", "is required", and, when the model gives
examples (`Field(examples=[...])`), the expected shape with an example of it.

Framework-free: it reads pydantic's error dicts and plain values, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from lfp.text import dotted

# Prefixes pydantic puts before the text a validator raised.
_PREFIXES = ("Value error, ", "Assertion failed, ")
_OBJECT = "must be a JSON object"
# (pattern, replacement), applied in order to what is left of pydantic's message.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Input should be a valid dictionary or instance of \w+$"), _OBJECT),
    (re.compile(r"^Input should be a valid dictionary or object to extract fields from$"), _OBJECT),
    (re.compile(r"^Input should be a valid dictionary$"), _OBJECT),
    (re.compile(r"^Input should be an instance of \w+$"), "has the wrong type"),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a known field"),
    (re.compile(r"^Input should be a valid list"), "must be a list"),
    (re.compile(r"^Input should be a valid boolean"), "must be true or false"),
    (re.compile(r"^Input should be a valid integer"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number"), "must be a number"),
    (re.compile(r"^Input should be a valid string"), "must be text"),
    (re.compile(r"^(Input|String|List|Dictionary|Value|Tuple|Set) should "), "must "),
    (re.compile(r" after validation(, not \d+)?$"), ""),
    (re.compile(r", unable to (parse|interpret) .*$"), ""),
)
# Errors about the kind of value sent: the example's shape says what was expected instead.
_SHAPE_TYPES = re.compile(r"^(missing|\w+_type|\w+_parsing|model_attributes_type|too_short)$")


def message(error: Mapping[str, Any]) -> str:
    """One pydantic error's message in user words, without prefixes or class names."""
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"is not valid JSON ({reason})" if reason else "is not valid JSON"
    text = str(error.get("msg", ""))
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def describe(error: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    """`location: message`, with the expected shape and an example when `model` has one."""
    loc = list(error.get("loc", ()))
    text = message(error)
    kind = str(error.get("type", ""))
    if model is not None and kind == "extra_forbidden":
        text += f"; the fields are: {', '.join(_field_names(model))}"
    elif model is not None and _SHAPE_TYPES.match(kind):
        found, example = example_at(model, loc)
        if found:
            expected = _expected(example)
            if kind == "missing":
                text = f"is required: {expected}"
            elif kind == "too_short":
                text = f"{text}, such as {json.dumps(example)}"
            else:
                text = f"must be {expected}"
    return f"{dotted(loc) or 'params'}: {text}"


def rewritten(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Error dicts for a problem's `errors` member, each `msg` in user words."""
    return [{**error, "msg": message(error)} for error in errors]


def example_at(model: type[BaseModel], loc: Sequence[Any]) -> tuple[bool, Any]:
    """(True, an example of the value at `loc`) from the model's field examples, else (False,)."""
    if not loc or not isinstance(loc[0], str):
        return False, None
    field = _field(model, loc[0])
    examples = field.examples if field is not None else None
    if not examples:
        return False, None
    value: Any = examples[0]
    for part in loc[1:]:
        if isinstance(part, int) and isinstance(value, list) and value:
            value = value[0]  # any item stands for the one that was wrong
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False, None
    return True, value


def shape_of(value: Any) -> str:
    """What kind of JSON value `value` is, in words: "a list of objects", "a whole number"."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        kinds = {_plural(shape_of(item)) for item in value}
        return f"a list of {kinds.pop()}" if len(kinds) == 1 else "a list"
    return "null"


def _expected(example: Any) -> str:
    shape = shape_of(example)
    # "true or false" says it all; an example would only repeat it.
    return shape if isinstance(example, bool) else f"{shape} such as {json.dumps(example)}"


def _plural(shape: str) -> str:
    plurals = {"an object": "objects", "text": "text", "true or false": "true or false values"}
    return plurals.get(shape, shape.removeprefix("a ") + "s")


def _field(model: type[BaseModel], name: str) -> Any:
    # Fields are keyed by their Python name; an alias (`as`) finds them too.
    fields = model.model_fields
    if name in fields:
        return fields[name]
    return next((f for f in fields.values() if f.alias == name), None)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]
