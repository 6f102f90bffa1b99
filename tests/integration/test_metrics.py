"""`/metrics` of real servers (and of a real `lfp worker`), and `/readyz`'s broker check.

Each test starts servers of its own on SQLite, so that every count it reads is its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import BASE_ENV
from tests.helpers import (
    CHUNK,
    Server,
    content_digest,
    create_upload,
    free_port,
    gate_params,
    random_file,
    read_chunk,
    sign_up,
    upload_small,
    wait_for_job,
    wait_until,
)
from tests.workers import Worker

CHUNK_ROUTE = "/api/v1/uploads/{upload_id}/chunks/{index}"
REDIS = "redis://127.0.0.1:6379/0"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample `url` serves, by name and labels; fails unless it is Prometheus text."""
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_requests_chunks_and_bytes_are_counted(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server("sqlite")
    source = random_file(tmp_path / "in.bin", CHUNK + 1000, seed=11)
    with sign_up(server.url) as api:
        upload = create_upload(api, CHUNK + 1000)
        chunk = read_chunk(source, 0)
        path = f"/uploads/{upload['id']}/chunks/0"
        assert api.put(path, content=chunk).status_code == 204
        # The same chunk again with a digest of other bytes, then a chunk of the wrong size.
        wrong = {"Content-Digest": content_digest(b"other bytes")}
        assert api.put(path, content=chunk, headers=wrong).is_client_error
        assert api.put(f"/uploads/{upload['id']}/chunks/1", content=b"x").is_client_error
    assert httpx.get(f"{server.url}/no/such/route").status_code == 404

    samples = scrape(f"{server.url}/metrics")
    put = {"method": "PUT", "route": CHUNK_ROUTE}
    assert value(samples, "lfp_http_requests_total", **put, status="204") == 1
    assert value(samples, "lfp_http_requests_total", **put, status="400") == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(samples, "lfp_http_requests_total", **unmatched) == 1
    # Raw paths never become labels.
    assert not any(upload["id"] in str(labels) for _, labels in samples)
    assert value(samples, "lfp_chunks_stored_total") == 1
    assert value(samples, "lfp_chunks_refused_total", reason="digest_mismatch") == 1
    assert value(samples, "lfp_chunks_refused_total", reason="bad_request") == 1
    assert (
        value(samples, "lfp_bytes_received_total") == 2 * CHUNK
    )  # the short chunk was refused before its body was read
    assert value(samples, "lfp_uploads_total", event="created") == 1


def test_jobs_by_state_are_read_from_the_database(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server("sqlite")
    params = gate_params(tmp_path)
    with sign_up(server.url) as api:
        file = upload_small(api, b"gated", processor="test-gate", params=json.dumps(params))
        wait_for_job(api, file["job_id"], ("running",))

        def jobs(url: str, state: str) -> float | None:
            return value(scrape(f"{url}/metrics"), "lfp_jobs", state=state)

        assert jobs(server.url, "running") == 1
        # A second server on the same database, which runs none of these jobs, says the same.
        other = Server(server.data_dir, server.env)
        other.start()
        try:
            assert jobs(other.url, "running") == 1
            Path(params["gate"]).touch()
            assert wait_for_job(api, file["job_id"])["state"] == "succeeded"
            assert jobs(other.url, "succeeded") == 1
            assert jobs(other.url, "running") is None
        finally:
            other.stop()
    samples = scrape(f"{server.url}/metrics")
    assert value(samples, "lfp_jobs", state="succeeded") == 1
    assert value(samples, "lfp_files", state="ready") == 1
    assert value(samples, "lfp_job_seconds_count", processor="test-gate") == 1
    assert value(samples, "lfp_verification_seconds_count") == 1


def test_readyz_reports_a_broker_that_does_not_answer(
    start_server: Callable[..., Server],
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    server = start_server("sqlite", LFP_BROKER_URL=closed, LFP_JOB_QUEUE=_queue())
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("failed: ")


def test_readyz_reports_a_broker_that_answers(start_server: Callable[..., Server]) -> None:
    server = start_server("sqlite", LFP_BROKER_URL=REDIS, LFP_JOB_QUEUE=_queue())
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok", "broker": "ok"}


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **BASE_ENV,
        "LFP_BROKER_URL": REDIS,
        "LFP_JOB_QUEUE": _queue(),
        "LFP_WORKER_METRICS_PORT": str(port),
    }
    worker = Worker(tmp_path / "data", env)
    worker.start()
    try:
        samples = wait_until(
            lambda: _scrape_or_none(f"http://127.0.0.1:{port}/metrics"), 30, "worker metrics"
        )
        assert ("lfp_chunks_stored_total", frozenset()) in samples
        assert b"lfp-" in worker.log_path.read_bytes()  # its unique node name
    finally:
        worker.terminate()


def _scrape_or_none(url: str) -> Samples | None:
    try:
        return scrape(url)
    except httpx.TransportError:
        return None


def _queue() -> str:
    """A queue of this test's own, so that it never takes another lfp's messages."""
    return f"lfp-test-{uuid.uuid4().hex[:8]}"
