"""The client's transfer experience: failing fast on a server never reached, retry notices,
hashing before sending (once), deduplicated uploads, and downloads that never overwrite."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.progress import Progress

from lfp.cli.transfer import SpeedOrStatus, TransferLine
from lfp.client import LfpClient, LfpError, LfpNetworkError
from lfp.client.downloader import download
from lfp.client.errors import DestinationExists
from lfp.client.retry import FIRST_CONTACT, RetryListener, RetryPolicy
from lfp.client.state import ResumeState
from lfp.client.uploader import upload_file

POLICY = RetryPolicy(attempts=4, first_delay=0.01, max_delay=0.02)


def _flaky_client(answers: list[httpx.Response | Exception]) -> tuple[LfpClient, list[int]]:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        answer = answers.pop(0) if answers else httpx.ConnectError("[Errno 111] Connection refused")
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = LfpClient("http://lfp:9", retry=POLICY, transport=httpx.MockTransport(handle))
    return client, calls


def test_a_server_never_reached_fails_after_a_few_quick_tries_naming_the_url() -> None:
    client, calls = _flaky_client([])
    with pytest.raises(LfpNetworkError) as raised:
        client.me()
    assert len(calls) == FIRST_CONTACT.attempts < POLICY.attempts
    assert (raised.value.url, raised.value.reason) == ("http://lfp:9", "connection refused")
    assert raised.value.reached is False


def test_a_server_that_went_away_gets_the_patient_policy_and_retry_notices() -> None:
    down = httpx.ConnectError("[Errno 111] Connection refused")
    client, calls = _flaky_client([httpx.Response(200, json={}), down, down])
    client.me()
    heard: list[int | None] = []
    client.on_retry = heard.append
    with pytest.raises(LfpNetworkError) as raised:
        client.me()
    assert len(calls) == 1 + POLICY.attempts
    assert raised.value.reached is True
    assert "lost the lfp server at http://lfp:9" in str(raised.value)
    assert heard == [1, 2, 3]


def test_the_retry_notice_is_cleared_by_the_first_answer() -> None:
    down = httpx.ConnectError("down")
    ok = httpx.Response(200, json={})
    client, _ = _flaky_client([ok, down, httpx.Response(502), ok])
    client.me()
    heard: list[int | None] = []
    client.on_retry = heard.append
    client.me()
    assert heard == [1, 2, None]


def test_the_transfer_line_shows_a_retry_over_verifying_and_clears_it() -> None:
    bar = Progress(SpeedOrStatus(), console=Console(file=io.StringIO()))
    line = TransferLine(bar, "big.bin", 10)
    line.stage("verifying")
    line.on_retry(2)
    assert bar.tasks[0].fields["status"] == "server unreachable, retrying (2)…"
    line.on_retry(None)
    assert bar.tasks[0].fields["status"] == "verifying…"


class FakeUploads:
    """An in-memory server for the uploader: optionally it already stores the bytes."""

    base_url = "http://fake"
    retry = POLICY
    token: str | None = None
    on_retry: RetryListener | None = None

    def __init__(self, stored_sha256: str | None = None, *, refuse: bool = False) -> None:
        self.stored_sha256 = stored_sha256
        self.refuse = refuse
        self.created: list[dict[str, Any]] = []
        self.checked: list[dict[str, Any]] = []
        self.chunks: list[int] = []
        self.upload: dict[str, Any] = {}

    def http(self) -> httpx.Client:
        raise AssertionError("the uploader calls the API methods only")

    def reauthenticate(self, failed_token: str | None) -> bool:
        return False

    def check_upload(self, filename: str, size: int | None, **fields: Any) -> None:
        if self.refuse:
            raise LfpError(413, "too large")
        self.checked.append(fields)

    def create_upload(self, filename: str, size: int | None, **fields: Any) -> dict[str, Any]:
        self.created.append(fields)
        dedup = fields.get("checksum") == f"sha256:{self.stored_sha256}"
        self.upload = {
            "id": f"u{len(self.created)}",
            "size": size,
            "chunk_size": 4,
            "chunk_count": -(-int(size or 0) // 4),
            "received": [],
            "bytes_received": 0,
            "state": "completed" if dedup else "open",
            "file_id": "f1" if dedup else None,
            "deduplicated": dedup,
        }
        return self.upload

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        return self.upload

    def put_chunk(self, upload_id: str, index: int, data: bytes, digest: str | None) -> None:
        self.chunks.append(index)

    def complete_upload(self, upload_id: str, checksum: str | None = None) -> dict[str, Any]:
        return {"file_id": "f1", "job_id": None}

    def get_file(self, file_id: str) -> dict[str, Any]:
        return {"id": file_id, "state": "ready", "filename": "a.bin", "size": 10}


def _upload(server: FakeUploads, path: Path, resume: ResumeState | None) -> list[str]:
    stages: list[str] = []
    upload_file(server, path, resume=resume, on_stage=stages.append, poll_interval=0)
    return stages


def test_the_file_is_hashed_first_and_its_checksum_declared_at_creation(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789")
    server = FakeUploads()
    assert _upload(server, path, None) == ["hashing", "sending", "verifying"]
    assert server.created[0]["checksum"] == f"sha256:{hashlib.sha256(b'0123456789').hexdigest()}"
    assert sorted(server.chunks) == [0, 1, 2]
    assert server.checked == [{}]  # asked before hashing


def test_an_upload_the_server_would_refuse_is_not_hashed(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789")
    stages: list[str] = []
    with pytest.raises(LfpError):
        upload_file(FakeUploads(refuse=True), path, on_stage=stages.append, poll_interval=0)
    assert stages == []


def test_bytes_already_stored_are_not_sent(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789")
    server = FakeUploads(stored_sha256=hashlib.sha256(b"0123456789").hexdigest())
    assert _upload(server, path, None) == ["hashing", "deduplicated"]
    assert server.chunks == []


def test_a_resumed_upload_does_not_hash_again(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789")
    resume = ResumeState(tmp_path / "config")
    key = ResumeState.key(path, None, FakeUploads.base_url)
    resume.put(key, sha256="ab" * 32)  # what an interrupted run computed
    server = FakeUploads()
    assert _upload(server, path, resume) == ["sending", "verifying"]
    assert server.created[0]["checksum"] == f"sha256:{'ab' * 32}"
    assert resume.get(key) is None  # done: forgotten


def test_resume_entries_keep_the_id_and_the_hash_and_read_old_plain_ids(tmp_path: Path) -> None:
    resume = ResumeState(tmp_path / "config")
    resume.put("k", sha256="cd" * 32)
    resume.put("k", "upload-1")
    assert (resume.get("k"), resume.sha256("k")) == ("upload-1", "cd" * 32)
    (tmp_path / "config" / "uploads.json").write_text('{"old": "upload-0"}')
    assert (resume.get("old"), resume.sha256("old")) == ("upload-0", None)


def test_a_download_never_replaces_an_existing_file_unless_asked(tmp_path: Path) -> None:
    dest = tmp_path / "a.bin"
    dest.write_bytes(b"mine")
    with pytest.raises(DestinationExists) as raised:
        download(FakeUploads(), "f1", dest, overwrite=False)
    assert raised.value.filename == str(dest)
    assert dest.read_bytes() == b"mine"
