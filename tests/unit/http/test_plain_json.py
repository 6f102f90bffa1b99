"""PlainJsonProblems: problems under its prefixes become application/json with `error`."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from lfp.http.plain_json import PlainJsonProblems
from lfp.http.problems import PLAIN_JSON_MARK, problem


def answer(app_response: Response, path: str) -> tuple[list[Message], Scope]:
    """What the middleware sends for `app_response` at `path`, and the scope it saw."""
    seen: dict[str, Scope] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["scope"] = scope
        await app_response(scope, receive, send)

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    middleware = PlainJsonProblems(app, prefixes=("/api/v1/dropzone",))
    anyio.run(middleware, scope, receive, send)
    return sent, seen["scope"]


def headers_of(start: Message) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in start["headers"]}


def body_of(sent: list[Message]) -> Any:
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_a_problem_built_anywhere_is_rewritten_with_its_headers_kept() -> None:
    built = problem(507, "The disk is full.", headers={"Retry-After": "30"})
    sent, scope = answer(built, "/api/v1/dropzone/finalize")
    assert scope[PLAIN_JSON_MARK] is True
    start = sent[0]
    assert start["status"] == 507
    headers = headers_of(start)
    assert headers["content-type"] == "application/json"
    assert headers["retry-after"] == "30"
    body = body_of(sent)
    assert int(headers["content-length"]) == len(b"".join(m["body"] for m in sent[1:]))
    assert body == {
        "type": "about:blank",
        "title": "Insufficient storage",
        "status": 507,
        "detail": "The disk is full.",
        "error": "The disk is full.",
    }


def test_other_answers_and_other_paths_pass_unchanged() -> None:
    ok = JSONResponse({"complete": True})
    sent, _ = answer(ok, "/api/v1/dropzone")
    assert headers_of(sent[0])["content-type"] == "application/json"
    assert body_of(sent) == {"complete": True}

    elsewhere = problem(404, "no such file")
    sent, scope = answer(elsewhere, "/api/v1/files/x")
    assert PLAIN_JSON_MARK not in scope
    assert headers_of(sent[0])["content-type"] == "application/problem+json"
    assert "error" not in body_of(sent)


def test_a_problem_rendered_for_the_marked_request_is_already_plain() -> None:
    rendered = problem(401, "no token", plain_json=True)
    sent, _ = answer(rendered, "/api/v1/dropzone")
    assert headers_of(sent[0])["content-type"] == "application/json"
    assert body_of(sent)["error"] == "no token"
