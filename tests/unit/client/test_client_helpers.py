"""Client-side helpers: retry policy, size parsing, resume keys."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import typer

from lfp.cli import parse_size
from lfp.client.errors import LfpError, LfpNetworkError
from lfp.client.retry import RetryPolicy, call_with_retries
from lfp.client.state import ResumeState

POLICY = RetryPolicy(attempts=4, first_delay=0.01, max_delay=0.02)


def _client(answers: list[httpx.Response | Exception]) -> tuple[httpx.Client, list[int]]:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://lfp"), calls


def test_server_errors_and_network_errors_are_retried() -> None:
    client, calls = _client(
        [httpx.ConnectError("down"), httpx.Response(503), httpx.Response(200, json={"ok": 1})]
    )
    slept: list[float] = []
    response = call_with_retries(lambda: client.get("/x"), POLICY, sleep=slept.append)
    assert response.json() == {"ok": 1}
    assert len(calls) == 3
    assert len(slept) == 2


def test_busy_answers_wait_as_long_as_the_server_says() -> None:
    busy = httpx.Response(409, headers={"Retry-After": "3"}, json={"detail": "busy"})
    client, _ = _client([busy, httpx.Response(204)])
    slept: list[float] = []
    call_with_retries(lambda: client.put("/x"), POLICY, sleep=slept.append)
    assert slept == [3.0]


def test_client_errors_fail_at_once_with_the_detail() -> None:
    client, calls = _client([httpx.Response(404, json={"detail": "no upload 1"})])
    with pytest.raises(LfpError) as raised:
        call_with_retries(lambda: client.get("/x"), POLICY, sleep=lambda _: None)
    assert (raised.value.status, raised.value.detail) == (404, "no upload 1")
    assert len(calls) == 1


def test_giving_up_on_the_network_says_so() -> None:
    client, calls = _client([httpx.ConnectError("down")] * POLICY.attempts)
    with pytest.raises(LfpNetworkError):
        call_with_retries(lambda: client.get("/x"), POLICY, sleep=lambda _: None)
    assert len(calls) == POLICY.attempts


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8388608", 8388608),
        ("8MiB", 8 * 1024**2),
        ("16M", 16_000_000),
        ("1.5GiB", 3 * 1024**3 // 2),
    ],
)
def test_sizes_read_with_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "eight", "8XB", "-1M"])
def test_unreadable_sizes_are_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_size(text)


def test_resume_key_changes_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"one")
    before = ResumeState.key(path, None, "http://lfp")
    path.write_bytes(b"other")
    assert ResumeState.key(path, None, "http://lfp") != before
    state = ResumeState(tmp_path / "config")
    state.put(before, "upload-1")
    assert state.get(before) == "upload-1"
    assert (tmp_path / "config" / "uploads.json").stat().st_mode & 0o777 == 0o600
    state.forget(before)
    assert state.get(before) is None
