"""Bad processor params and bad bodies are refused in the user's words, on every way in.

No pydantic internals reach a client ("Value error, ", "instance of Aggregate"); a params
error shows the expected shape with the example the processor's schema publishes.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import upload_small

AGGREGATES_EXAMPLE = '[{"column": "amount", "function": "sum"}]'
INTERNALS = ("Value error", "Assertion failed", "instance of", "Aggregate", "Input should")


def _clean(detail: str) -> None:
    for internal in INTERNALS:
        assert internal not in detail, detail


def _tus_metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _every_way_in(api: httpx.Client, processor: str, params: dict[str, Any]) -> list[str]:
    """The problem details of submitting `params` as a job, an upload, a file, tus, Dropzone."""
    file = upload_small(api, b"x")
    text = json.dumps(params)
    responses = [
        api.post("/jobs", json={"file_id": file["id"], "processor": processor, "params": params}),
        api.post(
            "/uploads", json={"filename": "a", "size": 1, "processor": processor, "params": params}
        ),
        api.post(
            "/files", params={"processor": processor, "params": text}, files={"file": ("a", b"x")}
        ),
        api.post(
            "/tus/",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "1",
                "Upload-Metadata": _tus_metadata(filename="a", processor=processor, params=text),
            },
        ),
    ]
    details = []
    for response in responses:
        assert response.status_code == 422, response.text
        details.append(response.json()["detail"])
    dropzone = api.post(
        "/dropzone",
        data={"processor": processor, "params": text},
        files={"file": ("a", b"x", "application/octet-stream")},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert dropzone.status_code == 422, dropzone.text
    details.append(dropzone.json()["error"])
    return details


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"aggregates": {"column": "amount"}},
            f"aggregates: must be a list of objects such as {AGGREGATES_EXAMPLE}",
        ),
        ({"aggregates": ["amount"]}, 'aggregates.0: must be an object such as {"column": "amount"'),
        ({}, f"aggregates: is required: a list of objects such as {AGGREGATES_EXAMPLE}"),
        (
            {"aggregates": []},
            f"aggregates: must have at least 1 item, such as {AGGREGATES_EXAMPLE}",
        ),
        (
            {"aggregates": [{"column": "a", "function": "sum"}], "delimiter": '"'},
            "delimiter: the delimiter cannot be a quote or a line end",
        ),
        (
            {"aggregates": [{"function": "sum"}]},
            'aggregates.0.column: is required: text such as "amount"',
        ),
        (
            {"group_by": "region", "aggregates": [{"column": "a", "function": "sum"}]},
            'group_by: must be a list of text such as ["region"]',
        ),
    ],
)
def test_csv_aggregate_params_errors_show_the_expected_shape(
    api: httpx.Client, params: dict[str, Any], expected: str
) -> None:
    for detail in _every_way_in(api, "csv-aggregate", params):
        _clean(detail)
        assert expected in detail


def test_the_examples_in_errors_are_the_published_ones(api: httpx.Client) -> None:
    listed = {p["name"]: p for p in api.get("/processors").json()}
    schema = listed["csv-aggregate"]["params_schema"]
    example = schema["properties"]["aggregates"]["examples"][0]

    detail = _every_way_in(api, "csv-aggregate", {"aggregates": "sum"})[0]

    assert json.dumps(example) in detail
    for processor in listed.values():
        for name, field in processor["params_schema"].get("properties", {}).items():
            assert field.get("examples"), f"{processor['name']}.{name} has no example"


def test_an_unknown_param_names_the_known_ones(api: httpx.Client) -> None:
    for detail in _every_way_in(api, "hash", {"algorithm": "md5"}):
        _clean(detail)
        assert "algorithm: is not a known field; the fields are: algorithms" in detail


def test_a_value_of_the_wrong_type_says_what_it_must_be(api: httpx.Client) -> None:
    detail = _every_way_in(api, "products", {"sku_case_insensitive": "maybe"})[0]
    assert "sku_case_insensitive: must be true or false" in detail


def test_bad_request_bodies_are_refused_in_plain_words(api: httpx.Client) -> None:
    file = upload_small(api, b"x")
    not_an_object = api.post(
        "/jobs", json={"file_id": file["id"], "processor": "hash", "params": []}
    )
    not_json = api.post("/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    a_list = api.post("/jobs", json=[file["id"]])
    weak = httpx.post(
        str(api.base_url.join("auth/signup")),
        json={"email": f"{uuid.uuid4().hex}@example.com", "password": "x"},
    )

    for response in (not_an_object, not_json, a_list, weak):
        assert response.status_code == 422, response.text
        body = response.json()
        _clean(body["detail"])
        for error in body["errors"]:
            _clean(error["msg"])
    assert "params: must be a JSON object" in not_an_object.json()["detail"]
    assert "is not valid JSON" in not_json.json()["detail"]
    assert a_list.json()["detail"] == "request: must be a JSON object"
    assert "password: " in weak.json()["detail"]
