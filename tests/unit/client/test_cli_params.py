"""`--param key=value` pairs read against a processor's params schema."""

from __future__ import annotations

from typing import Any

import pytest

from lfp.client.params import ParamError, parse_params

SCHEMA: dict[str, Any] = {
    "properties": {
        "algorithms": {"type": "array", "items": {"enum": ["md5", "sha1"], "type": "string"}},
        "delimiter": {"type": "string"},
        "output_format": {"enum": ["csv", "parquet"], "type": "string"},
        "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "aggregates": {"type": "array", "items": {"type": "object"}},
    }
}


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("algorithms=md5,sha1", {"algorithms": ["md5", "sha1"]}),
        ('algorithms=["md5"]', {"algorithms": ["md5"]}),
        ("delimiter=;", {"delimiter": ";"}),
        ("delimiter=1", {"delimiter": "1"}),  # a string param keeps the text as typed
        ("output_format=parquet", {"output_format": "parquet"}),
        ("limit=10", {"limit": 10}),
        ("limit=null", {"limit": None}),
        (
            'aggregates=[{"column": "plays", "function": "sum"}]',
            {"aggregates": [{"column": "plays", "function": "sum"}]},
        ),
        ("unknown=true", {"unknown": True}),  # the server names unknown params
        ("note=a=b", {"note": "a=b"}),
    ],
)
def test_values_follow_the_schema(pair: str, expected: dict[str, Any]) -> None:
    assert parse_params([pair], SCHEMA) == expected


@pytest.mark.parametrize("pair", ["algorithms", "=md5", ""])
def test_pairs_without_a_key_are_refused(pair: str) -> None:
    with pytest.raises(ParamError, match="is not key=value"):
        parse_params([pair], SCHEMA)
