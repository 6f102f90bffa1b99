"""The `forward` processor sends files to a real HTTP server started by the test.

The receiver hashes what arrives, so these tests prove the bytes, the announced length and
the `Repr-Digest` match the file; scripted answers drive the retry and failure paths. The
params tests prove the allow-list refuses every URL it does not name.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lfp.config import Settings
from lfp.errors import Unprocessable
from lfp.processors.base import JobCancelled, ProcessorError
from lfp.processors.forward import ForwardParams, ForwardProcessor
from lfp.processors.registry import Registry
from tests.helpers import MiB, file_sha256, free_port, random_file, wait_until
from tests.processor_context import LocalJob, local_job
from tests.receiver import Receiver, Reply

SIZE = 3 * MiB + 12345  # several send blocks and a short last one


def _registry(*allowed: str) -> Registry:
    return Registry([ForwardProcessor()], Settings(forward_allowed_hosts=list(allowed)))


def _params(url: str, **extra: Any) -> ForwardParams:
    """Params as a job gets them: validated against an allow-list naming 127.0.0.1."""
    params = _registry("127.0.0.1").parse("forward", {"url": url, **extra})
    assert isinstance(params, ForwardParams)
    return params


def _repr_digest(path: Path) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()}:"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return random_file(tmp_path / "in.bin", SIZE, seed=7)


def _job(source: Path, tmp_path: Path, **kwargs: Any) -> LocalJob:
    return local_job(source, tmp_path / "scratch", **kwargs)


def test_file_arrives_whole_with_its_length_and_digest(source: Path, tmp_path: Path) -> None:
    job = _job(source, tmp_path)
    with Receiver() as receiver:
        headers = {"Authorization": "Bearer secret", "content-type": "application/x-test"}
        params = _params(f"{receiver.url}/in/data.bin?v=1", headers=headers)
        result = ForwardProcessor().run(job, params)

    (received,) = receiver.requests
    assert (received.method, received.path) == ("PUT", "/in/data.bin?v=1")
    assert received.complete and received.length == SIZE
    assert received.sha256 == file_sha256(source)
    assert received.headers["content-length"] == str(SIZE)
    assert "transfer-encoding" not in received.headers  # streamed, yet not chunked
    assert received.headers["repr-digest"] == _repr_digest(source)
    assert received.headers["authorization"] == "Bearer secret"
    assert received.headers["content-type"] == "application/x-test"  # the user's, not ours
    assert result["status"] == 201 and result["attempts"] == 1
    assert result["bytes"] == SIZE and result["sha256"] == file_sha256(source)
    assert (result["method"], result["url"]) == ("PUT", params.url)
    assert result["seconds"] >= 0
    assert job.outputs == []
    # Hashing is the first half of the progress, sending the second.
    assert job.reports[-1] == (2 * SIZE, 2 * SIZE, "bytes")
    assert [done for done, _, _ in job.reports] == sorted(done for done, _, _ in job.reports)


def test_post_of_an_empty_file_has_default_content_type(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with Receiver([Reply(200)]) as receiver:
        result = ForwardProcessor().run(
            _job(empty, tmp_path), _params(receiver.url + "/", method="POST")
        )
    (received,) = receiver.requests
    assert received.method == "POST" and received.complete and received.length == 0
    assert received.headers["content-length"] == "0"
    assert received.headers["content-type"] == "application/octet-stream"
    assert received.headers["repr-digest"] == _repr_digest(empty)
    assert result["status"] == 200


def test_server_errors_are_retried_until_it_accepts(source: Path, tmp_path: Path) -> None:
    replies = [Reply(503, b"busy"), Reply(503, b"busy"), Reply(201)]
    with Receiver(replies) as receiver:
        params = _params(receiver.url + "/f", retry_delay_seconds=0.01)
        result = ForwardProcessor().run(_job(source, tmp_path), params)
    assert result["attempts"] == 3 and result["status"] == 201
    # Every attempt sent the whole file again, from its start.
    assert len(receiver.requests) == 3
    for received in receiver.requests:
        assert received.complete and received.sha256 == file_sha256(source)


def test_server_errors_until_out_of_attempts_fail_naming_the_last(
    source: Path, tmp_path: Path
) -> None:
    with Receiver([Reply(500, b"disk on fire")]) as receiver:
        params = _params(receiver.url, max_attempts=2, retry_delay_seconds=0)
        with pytest.raises(ProcessorError, match=r"failed 2 times; last: HTTP 500: disk on fire"):
            ForwardProcessor().run(_job(source, tmp_path), params)
    assert len(receiver.requests) == 2


def test_client_error_fails_at_once_with_status_and_body(source: Path, tmp_path: Path) -> None:
    body = b"digest mismatch\n" + b"x" * 5000
    with Receiver([Reply(400, body), Reply(201)]) as receiver:
        params = _params(receiver.url, retry_delay_seconds=0)
        with pytest.raises(ProcessorError) as caught:
            ForwardProcessor().run(_job(source, tmp_path), params)
    message = str(caught.value)
    assert "refused: HTTP 400: digest mismatch x" in message
    assert len(message) < 800  # the start of the body, not all of it
    assert len(receiver.requests) == 1


def test_redirect_is_not_followed(source: Path, tmp_path: Path) -> None:
    elsewhere = {"Location": "http://169.254.169.254/latest"}
    with (
        Receiver([Reply(302, headers=elsewhere), Reply(201)]) as receiver,
        pytest.raises(ProcessorError, match=r"redirect \(HTTP 302 to http://169\.254"),
    ):
        ForwardProcessor().run(_job(source, tmp_path), _params(receiver.url))
    assert len(receiver.requests) == 1


def test_network_error_is_retried_then_named(source: Path, tmp_path: Path) -> None:
    params = _params(f"http://127.0.0.1:{free_port()}/", max_attempts=3, retry_delay_seconds=0)
    with pytest.raises(ProcessorError, match=r"failed 3 times; last: ConnectError"):
        ForwardProcessor().run(_job(source, tmp_path), params)


def test_cancel_while_sending_stops_the_upload(source: Path, tmp_path: Path) -> None:
    def cancel_once_sending(job: LocalJob) -> None:
        done, _, _ = job.reports[-1]
        if done > SIZE:  # the first block went out
            job.cancel()

    job = _job(source, tmp_path, on_progress=cancel_once_sending)
    with Receiver() as receiver:
        with pytest.raises(JobCancelled):
            ForwardProcessor().run(job, _params(receiver.url, retry_delay_seconds=0))
        (received,) = wait_until(lambda: receiver.requests, 30, "the receiver to give up")
    assert not received.complete and received.length < SIZE


def test_cancel_during_backoff_stops_waiting(source: Path, tmp_path: Path) -> None:
    def cancel_after_first_send(job: LocalJob) -> None:
        if job.reports[-1][0] == 2 * SIZE:
            job.cancel()

    job = _job(source, tmp_path, on_progress=cancel_after_first_send)
    with Receiver([Reply(503)]) as receiver:
        # A backoff of a minute: only the cancel can end this test in time.
        params = _params(receiver.url, retry_delay_seconds=60)
        with pytest.raises(JobCancelled):
            ForwardProcessor().run(job, params)
    assert len(receiver.requests) == 1


# -- params -------------------------------------------------------------------------------


def _refused(allowed: list[str], params: dict[str, Any]) -> str:
    with pytest.raises(Unprocessable) as caught:
        _registry(*allowed).validate("forward", params)
    return caught.value.detail


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        (["files.example.com"], "https://files.example.com/a"),
        (["FILES.example.com"], "http://files.EXAMPLE.com:8080/a"),  # no port: any port
        (["files.example.com:8443"], "https://files.example.com:8443/a"),
        (["files.example.com:443"], "https://files.example.com/a"),  # the scheme's port
        (["*.example.com"], "https://a.example.com/"),
        (["*.example.com"], "https://a.b.example.com/"),
        (["127.0.0.1"], "http://127.0.0.1:9000/"),
        (["[::1]:8080"], "http://[::1]:8080/"),
        (["::1"], "http://[0:0::1]/"),
        (["bücher.example"], "https://BÜCHER.example/"),
        (["xn--bcher-kva.example"], "https://bücher.example/"),
        (["other.org", "files.example.com"], "https://files.example.com/"),
    ],
)
def test_allowed_urls(allowed: list[str], url: str) -> None:
    params = _registry(*allowed).validate("forward", {"url": url})
    assert params["method"] == "PUT" and params["max_attempts"] == 5


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        (["files.example.com"], "https://evil.example.com/"),
        (["files.example.com"], "https://files.example.com.evil.org/"),
        (["files.example.com:8443"], "https://files.example.com/"),
        (["files.example.com:8443"], "https://files.example.com:8080/"),
        (["*.example.com"], "https://example.com/"),
        (["*.example.com"], "https://badexample.com/"),
        (["*.0.0.1"], "http://127.0.0.1/"),  # IP addresses only match exactly
        (["127.0.0.1"], "http://localhost/"),  # by name as written: nothing is resolved
        (["localhost"], "http://127.0.0.1/"),
        (["127.0.0.1"], "http://[::ffff:127.0.0.1]/"),
    ],
)
def test_urls_off_the_allow_list_are_refused(allowed: list[str], url: str) -> None:
    detail = _refused(allowed, {"url": url})
    assert "not on this server's forwarding allow-list (LFP_FORWARD_ALLOWED_HOSTS)" in detail


def test_empty_allow_list_says_how_to_enable_forwarding() -> None:
    detail = _refused([], {"url": "https://files.example.com/"})
    assert "forwarding is disabled" in detail and "LFP_FORWARD_ALLOWED_HOSTS" in detail


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"url": "https://u:pw@files.example.com/"}, "must not carry a user or password"),
        ({"url": "ftp://files.example.com/"}, "http:// or https://"),
        ({"url": "file:///etc/passwd"}, "http:// or https://"),
        ({"url": "https://"}, "http:// or https://"),
        ({"url": "https://files.example.com:99999/"}, "not a valid URL"),
        ({"url": "https://files.example.com/", "method": "GET"}, "method"),
        ({"url": "https://files.example.com/", "max_attempts": 0}, "max_attempts"),
        ({"url": "https://files.example.com/", "retry_delay_seconds": 61}, "retry_delay"),
        ({"url": "https://files.example.com/", "follow": True}, "follow: is not a known field"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], problem: str) -> None:
    assert problem in _refused(["files.example.com"], params)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("Content-Length", "1", "set by lfp"),
        ("repr-digest", "sha-256=:AA==:", "set by lfp"),
        ("Transfer-Encoding", "chunked", "set by lfp"),
        ("HOST", "internal", "set by lfp"),
        ("Connection", "close", "set by lfp"),
        ("X-Bad Name", "1", "not a valid header name"),
        ("X-Split", "a\r\nHost: internal", "printable ASCII"),
        ("X-Trailing", "a\n", "printable ASCII"),
        ("X-Name", "Zoë", "printable ASCII"),
    ],
)
def test_reserved_or_malformed_headers_are_refused(name: str, value: str, problem: str) -> None:
    params = {"url": "https://files.example.com/", "headers": {name: value}}
    detail = _refused(["files.example.com"], params)
    assert problem in detail and "headers" in detail


def test_params_without_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="without the server's settings"):
        ForwardParams.model_validate({"url": "https://files.example.com/"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            " Files.example.com , *.b.example.com:8443,",
            ["files.example.com", "*.b.example.com:8443"],
        ),
        ('["127.0.0.1", "[::1]:80"]', ["127.0.0.1", "[::1]:80"]),
        ("", []),
    ],
)
def test_allow_list_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: list[str]
) -> None:
    monkeypatch.setenv("LFP_FORWARD_ALLOWED_HOSTS", env)
    assert Settings(_env_file=None).forward_allowed_hosts == expected


@pytest.mark.parametrize(
    "entry", ["https://files.example.com", "files.example.com/x", "u@h", "a?b", "*.*.example.com"]
)
def test_allow_list_setting_refuses_urls(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setenv("LFP_FORWARD_ALLOWED_HOSTS", entry)
    with pytest.raises(ValidationError, match="is not a host, host:port or"):
        Settings(_env_file=None)
