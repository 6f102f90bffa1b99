"""Jobs on real `lfp worker` processes behind a real Redis or RabbitMQ broker.

Per broker, one API server (PostgreSQL, `LFP_BROKER_URL` set, so it only dispatches and
never runs jobs itself) and one worker on the same data dir, database and broker are shared
by the tests. The `test-gate` processor (tests/plugins) holds a job mid-run until the test
opens its gate, so a worker can be killed, stopped or asked to cancel while a job provably
runs on it.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import blake3
import httpx
import pytest

from lfp.config import Settings
from lfp.jobs.celery import VERIFY_FILE, celery_app
from tests.conftest import BASE_ENV
from tests.helpers import Server, wait_until
from tests.workers import Worker, require_broker

T = TypeVar("T")

# A Redis database of its own, so that these tests neither see nor disturb other users of
# the local Redis; RabbitMQ's default vhost is shared, so its queue is purged at the start.
BROKERS = {
    "redis": "redis://127.0.0.1:6379/5",
    "amqp": "amqp://guest:guest@127.0.0.1:5672//",
}
LEASE_SECONDS = float(BASE_ENV["LFP_JOB_LEASE_SECONDS"])
# The server looks for lost jobs every min(lease / 2, 10) seconds; a job left alone for a
# lease plus two of those rounds has had every chance to be picked up again.
QUIET_SECONDS = LEASE_SECONDS + 2 * min(LEASE_SECONDS / 2, 10)
JOB_TIMEOUT = 60.0
# A queue of the tests' own, so that they never take the messages of an lfp using the
# same broker.
QUEUE = "lfp-test-jobs"
FINISHED = {"succeeded", "failed", "cancelled"}


@dataclass
class Cluster:
    """An API server and a worker sharing a data dir, a database and a broker."""

    server: Server
    worker: Worker

    def wait(self, predicate: Callable[[], T | None], what: str, timeout: float = JOB_TIMEOUT) -> T:
        """`wait_until`, with the worker's log in the failure (the server's comes from conftest)."""
        try:
            return wait_until(predicate, timeout, what)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\n--- worker log ---\n{self.worker.log()[-5000:]}"
            ) from None


@dataclass
class Gate:
    """The files a `test-gate` job waits on and logs its starts to."""

    folder: Path

    @property
    def path(self) -> Path:
        """The job runs on once this file exists."""
        return self.folder / "gate"

    @property
    def starts_path(self) -> Path:
        """One line per start of the job."""
        return self.folder / "starts"

    def params(self, fail: bool = False) -> dict[str, Any]:
        """The job's params."""
        return {"gate": str(self.path), "starts": str(self.starts_path), "fail": fail}

    def starts(self) -> int:
        """How often the job has started so far."""
        if not self.starts_path.exists():
            return 0
        return len(self.starts_path.read_text().splitlines())

    def open(self) -> None:
        """Let the job finish."""
        self.path.touch()


def _purge(url: str) -> None:
    """Drop messages left in the jobs queue by earlier runs, so each run starts clean."""
    app = celery_app(Settings(broker_url=url, job_queue=QUEUE))
    try:
        app.control.purge()
    finally:
        app.close()


@pytest.fixture(scope="module", params=list(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    """A reachable broker with an empty jobs queue (a CI run fails when it is missing)."""
    url = BROKERS[str(request.param)]
    require_broker(url)
    _purge(url)
    return url


@pytest.fixture(scope="module")
def cluster(
    broker_url: str,
    make_database: Callable[[str], str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """An API server that only dispatches and a worker that runs, for one broker."""
    database_url = make_database("postgres")
    assert database_url is not None
    # The worker needs what the server has: database, broker, data dir (local blobs are
    # shared by path), the plugin path and the same lease.
    env = {
        **BASE_ENV,
        "LFP_DATABASE_URL": database_url,
        "LFP_BROKER_URL": broker_url,
        "LFP_JOB_QUEUE": QUEUE,
    }
    data_dir = tmp_path_factory.mktemp("lfp-celery")
    server = Server(data_dir, env)
    worker = Worker(data_dir, env)
    try:
        server.start()
        worker.start()
        yield Cluster(server, worker)
    finally:
        worker.stop()
        server.stop()


@pytest.fixture
def server(cluster: Cluster) -> Server:
    """The cluster's API server: conftest's `api` signs a new user up on it, and a failed
    test that takes it as an argument gets its log in the report."""
    return cluster.server


@pytest.fixture
def worker(cluster: Cluster) -> Worker:
    """The cluster's worker, started again if an earlier test left it stopped."""
    if not cluster.worker.running:
        cluster.worker.start()
    return cluster.worker


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    """A closed gate; opened at the end so no job of a failed test holds a worker thread."""
    item = Gate(tmp_path)
    yield item
    item.open()


def _upload(api: httpx.Client, data: bytes, processor: str, params: dict[str, Any]) -> str:
    """Store `data` with `processor` to run on it; the job's id."""
    response = api.post(
        "/files",
        params={"processor": processor, "params": json.dumps(params)},
        files={"file": ("input.bin", data, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["job_id"]
    assert job_id
    return job_id


def _job(api: httpx.Client, job_id: str) -> dict[str, Any]:
    response = api.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def _wait_finished(cluster: Cluster, api: httpx.Client, job_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job = _job(api, job_id)
        return job if job["state"] in FINISHED else None

    return cluster.wait(finished, f"job {job_id} to finish")


def _wait_running(
    cluster: Cluster, api: httpx.Client, job_id: str, gate: Gate, starts: int
) -> None:
    """Wait until the gate job has started `starts` times and is running (held at the gate)."""

    def running() -> bool:
        return gate.starts() == starts and _job(api, job_id)["state"] == "running"

    cluster.wait(running, f"gate job {job_id} to be running its start number {starts}")


def _holds(check: Callable[[], None], seconds: float) -> None:
    """Check, again and again for `seconds`, something that must stay true all along."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check()
        time.sleep(0.1)
    check()


def _output_blobs(cluster: Cluster, job_id: str) -> list[Path]:
    """The job's output files in the shared local store, whichever run wrote them."""
    folder = cluster.server.data_dir / "blobs" / "jobs" / job_id
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# -- the tests ------------------------------------------------------------------------


def test_hash_job_runs_on_a_worker(cluster: Cluster, worker: Worker, api: httpx.Client) -> None:
    data = _data(3 * 1024 * 1024 + 17, seed=1)
    algorithms = ["md5", "sha256", "blake3"]
    job_id = _upload(api, data, "hash", {"algorithms": algorithms})

    job = _wait_finished(cluster, api, job_id)

    assert job["state"] == "succeeded", job
    expected = {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake3": blake3.blake3(data).hexdigest(),
    }
    assert job["result"]["digests"] == expected
    assert job["attempts"] == 1
    assert job["progress"] == 1.0
    assert [o["name"] for o in job["outputs"]] == ["checksums.txt"]
    response = api.get(f"/jobs/{job_id}/outputs/checksums.txt")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines == [f"{name.upper()} (input.bin) = {expected[name]}" for name in algorithms]


def test_verification_runs_on_a_worker(cluster: Cluster, worker: Worker, api: httpx.Client) -> None:
    # The server only dispatches: a file that becomes `ready` was verified by the worker.
    data = _data(2 * 1024 * 1024 + 3, seed=7)
    job_id = _upload(api, data, "hash", {"algorithms": ["sha256"]})
    file_id = _job(api, job_id)["file_id"]

    def settled() -> dict[str, Any] | None:
        file: dict[str, Any] = api.get(f"/files/{file_id}").json()
        return file if file["state"] != "verifying" else None

    file = cluster.wait(settled, f"file {file_id} to be verified")
    assert file["state"] == "ready", file
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert f"{VERIFY_FILE}[" in worker.log()
    assert _wait_finished(cluster, api, job_id)["state"] == "succeeded"


def test_processor_error_on_a_worker_fails_the_job(
    cluster: Cluster, worker: Worker, api: httpx.Client, gate: Gate
) -> None:
    gate.open()
    job_id = _upload(api, b"doomed", "test-gate", gate.params(fail=True))

    job = _wait_finished(cluster, api, job_id)

    assert job["state"] == "failed", job
    assert job["error"] == "told to fail at line 3, column 2"
    assert job["outputs"] == []
    assert job["attempts"] == 1
    assert gate.starts() == 1


def test_cancel_stops_a_job_running_on_a_worker(
    cluster: Cluster, worker: Worker, api: httpx.Client, gate: Gate
) -> None:
    job_id = _upload(api, b"never copied", "test-gate", gate.params())
    _wait_running(cluster, api, job_id, gate, starts=1)

    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    job = _wait_finished(cluster, api, job_id)

    assert job["state"] == "cancelled", job
    assert job["outputs"] == []
    assert job["error"] is None
    assert gate.starts() == 1
    assert _output_blobs(cluster, job_id) == []


@pytest.mark.slow
def test_job_of_a_killed_worker_finishes_exactly_once(
    cluster: Cluster, worker: Worker, api: httpx.Client, gate: Gate
) -> None:
    data = _data(200_000, seed=2)
    job_id = _upload(api, data, "test-gate", gate.params())
    _wait_running(cluster, api, job_id, gate, starts=1)

    worker.kill()  # mid-job: its message is unacknowledged, its claim held until the lease ends
    worker.start()  # a new worker process; the broker or the server's recovery hands it the job
    _wait_running(cluster, api, job_id, gate, starts=2)
    gate.open()
    job = _wait_finished(cluster, api, job_id)

    assert job["state"] == "succeeded", job
    assert job["attempts"] == 2
    assert [o["name"] for o in job["outputs"]] == ["copy"]
    assert api.get(f"/jobs/{job_id}/outputs/copy").content == data
    assert len(_output_blobs(cluster, job_id)) == 1

    def unchanged() -> None:
        # Neither a message the broker delivers again nor the server's recovery may run it
        # a third time or touch the outcome.
        assert _job(api, job_id) == job
        assert gate.starts() == 2

    _holds(unchanged, QUIET_SECONDS)


@pytest.mark.slow
def test_sigterm_gives_running_jobs_back_and_queued_jobs_wait_for_a_worker(
    cluster: Cluster, worker: Worker, api: httpx.Client, gate: Gate
) -> None:
    data = _data(1000, seed=3)
    held_id = _upload(api, data, "test-gate", gate.params())
    _wait_running(cluster, api, held_id, gate, starts=1)

    # Celery's warm shutdown waits for running tasks; lfp interrupts them instead, so the
    # worker ends at once although the gate stays closed.
    started = time.monotonic()
    assert worker.terminate(timeout=20) == 0, worker.log()[-5000:]
    assert time.monotonic() - started < 10
    held = _job(api, held_id)
    assert held["state"] == "queued", held
    assert held["attempts"] == 0  # a run given back does not count as an attempt

    # With no worker, nothing runs: the server only dispatches.
    waiting_id = _upload(api, b"waiting", "hash", {"algorithms": ["sha256"]})

    def both_queued() -> None:
        assert _job(api, held_id)["state"] == "queued"
        assert _job(api, waiting_id)["state"] == "queued"
        assert gate.starts() == 1

    _holds(both_queued, QUIET_SECONDS)

    worker.start()
    waiting = _wait_finished(cluster, api, waiting_id)
    assert waiting["state"] == "succeeded", waiting
    assert waiting["result"]["digests"] == {"sha256": hashlib.sha256(b"waiting").hexdigest()}
    _wait_running(cluster, api, held_id, gate, starts=2)
    gate.open()
    held = _wait_finished(cluster, api, held_id)
    assert held["state"] == "succeeded", held
    assert held["attempts"] == 1
    assert api.get(f"/jobs/{held_id}/outputs/copy").content == data
