"""The `forward` processor through a real server: the stored file reaches another server.

The server's allow-list names 127.0.0.1 only, so the receiver started by the test is
reachable and every other host is refused when the job is submitted.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.helpers import MiB, Server, sign_up, upload_small, wait_for_job
from tests.receiver import Receiver, Reply


@pytest.fixture(scope="module")
def forwarding_server(start_module_server: Callable[..., Server]) -> Server:
    """A server that may forward to 127.0.0.1 (the test's receiver) and nowhere else."""
    return start_module_server("sqlite", LFP_FORWARD_ALLOWED_HOSTS="127.0.0.1")


@pytest.fixture
def user(forwarding_server: Server) -> Iterator[httpx.Client]:
    with sign_up(forwarding_server.url) as client:
        yield client


def test_uploaded_file_is_forwarded_with_its_digest(user: httpx.Client) -> None:
    data = hashlib.sha256(b"seed").digest() * (MiB // 16)  # 2 MiB
    with Receiver([Reply(503), Reply(201)]) as receiver:
        params = {"url": f"{receiver.url}/incoming", "retry_delay_seconds": 0}
        file = upload_small(user, data, processor="forward", params=json.dumps(params))
        job = wait_for_job(user, file["job_id"])

    assert job["state"] == "succeeded", job
    result = job["result"]
    assert (result["status"], result["attempts"], result["bytes"]) == (201, 2, len(data))
    assert result["sha256"] == hashlib.sha256(data).hexdigest() == file["sha256"]
    received = receiver.requests[-1]
    assert received.complete and received.sha256 == result["sha256"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert received.headers["repr-digest"] == f"sha-256=:{digest}:"


@pytest.mark.parametrize("url", ["http://localhost:9/", "https://example.org/"])
def test_host_off_the_allow_list_is_refused_at_submit(user: httpx.Client, url: str) -> None:
    file = upload_small(user, b"hello")
    response = user.post(
        "/jobs", json={"file_id": file["id"], "processor": "forward", "params": {"url": url}}
    )
    assert response.status_code == 422, response.text
    assert "LFP_FORWARD_ALLOWED_HOSTS" in response.json()["detail"]
