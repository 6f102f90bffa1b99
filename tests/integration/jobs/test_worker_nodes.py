"""Two `lfp worker` processes on one host and one RabbitMQ broker, beside one `lfp serve`.

Celery names a worker's node `lfp-<pid>@<host>`. Two workers of one name on one host would
share a RabbitMQ process mailbox (the queue `<node name>.celery.pidbox`): kombu warns that
the node "is already using this process mailbox", or RabbitMQ refuses the second consumer
with RESOURCE_LOCKED and that worker exits before it is ready (what Celery 5.7 on RabbitMQ
does). Both workers must start with names of their own and both must run jobs.

Which worker takes a message is the broker's choice, so the test makes it for it: each
worker runs one task at a time and prefetches no more (concurrency 1, prefetch multiplier
1, late acknowledgement). A `test-gate` job (tests/plugins) held at its gate keeps its
worker busy, so a second one held at the same time is provably on the other worker.
"""

from __future__ import annotations

import json
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from lfp.config import Settings
from lfp.jobs.celery import RUN_JOB, celery_app
from tests.conftest import BASE_ENV
from tests.helpers import Server, gate_params, wait_for_job, wait_until
from tests.workers import Worker, require_broker

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
# What a worker logs when another node of its name holds its process mailbox: kombu's
# warning (Celery's DuplicateNodenameWarning case) or RabbitMQ's refusal.
DUPLICATE_NODE = (
    "already using this process mailbox",
    "DuplicateNodenameWarning",
    "RESOURCE_LOCKED",
)
TIMEOUT = 60.0


@dataclass
class Installation:
    """One API server and two workers sharing a data dir, a database and a job queue."""

    server: Server
    workers: list[Worker]

    def logs(self) -> str:
        """The workers' logs, for a failure message."""
        return "".join(f"\n--- {w.name} log ---\n{w.log()[-4000:]}" for w in self.workers)

    def wait(self, predicate: Callable[[], object], what: str) -> None:
        """`wait_until`, with the workers' logs in the failure (conftest adds the server's)."""
        try:
            wait_until(predicate, TIMEOUT, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{self.logs()}") from None


def _delete_queue(url: str, queue: str) -> None:
    """Remove the test's own durable queue from the broker once it is done with it."""
    app = celery_app(Settings(broker_url=url, job_queue=queue))
    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
    finally:
        app.close()


@pytest.fixture(params=["sqlite", "postgres"])
def installation(
    request: pytest.FixtureRequest,
    make_database: Callable[[str], str | None],
    tmp_path: Path,
) -> Iterator[Installation]:
    """`lfp serve` (dispatching only) and two `lfp worker` of concurrency 1 on RabbitMQ."""
    require_broker(RABBITMQ)
    database_url = make_database(str(request.param))
    # A queue of this test's own: it takes no message of another test or lfp on the
    # broker's shared default vhost, and none of its messages reach them.
    queue = f"lfp-test-nodes-{uuid.uuid4().hex[:12]}"
    env = {**BASE_ENV, "LFP_BROKER_URL": RABBITMQ, "LFP_JOB_QUEUE": queue}
    if database_url:
        env["LFP_DATABASE_URL"] = database_url
    # One data dir for all three: the SQLite file and the local blobs are shared by path.
    data_dir = tmp_path / "lfp"
    server = Server(data_dir, env)
    workers = [Worker(data_dir, env, name=f"worker-{n}", concurrency=1) for n in range(2)]
    try:
        server.start()  # first: it migrates the database
        # Together, as a service manager starts them; each start waits for its "ready".
        with ThreadPoolExecutor(len(workers)) as pool:
            list(pool.map(Worker.start, workers))
        yield Installation(server, workers)
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        _delete_queue(RABBITMQ, queue)


@pytest.fixture
def server(installation: Installation) -> Server:
    """The installation's API server: conftest's `api` signs a user up on it, and a failed
    test gets its log in the report."""
    return installation.server


def _upload_gated(api: httpx.Client, folder: Path, data: bytes) -> str:
    """Store `data` with a `test-gate` job held at the gate `folder/gate`; the job's id."""
    folder.mkdir()
    params = gate_params(folder)
    response = api.post(
        "/files",
        params={"processor": "test-gate", "params": json.dumps(params)},
        files={"file": ("input.bin", data, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def _running(api: httpx.Client, job_id: str, folder: Path) -> bool:
    """Whether the gate job has started once and is running, held at its gate."""
    starts = folder / "starts"
    started = starts.exists() and starts.read_text().splitlines() == ["start"]
    return started and api.get(f"/jobs/{job_id}").json()["state"] == "running"


def test_two_workers_on_one_host_start_with_their_own_node_names_and_both_run_jobs(
    installation: Installation, server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    first, second = installation.workers
    host = socket.gethostname()

    # Both are up (Worker.start waited for each one's "ready"), each as lfp-<its pid>@host.
    for worker in (first, second):
        assert worker.process is not None
        assert worker.node_names() == [f"lfp-{worker.process.pid}@{host}"], worker.log()
    assert first.node_names() != second.node_names()

    # The first gate job occupies one worker's only slot; the second can only run on the
    # other one, so both running at once means each worker runs a job.
    data = [random.Random(seed).randbytes(100_000 + seed) for seed in range(2)]
    folders = [tmp_path / f"gate-{n}" for n in range(2)]
    job_ids = []
    for content, folder in zip(data, folders, strict=True):
        job_id = _upload_gated(api, folder, content)
        installation.wait(partial(_running, api, job_id, folder), f"gate job {job_id} to run")
        job_ids.append(job_id)
    installation.wait(
        lambda: all(_running(api, j, f) for j, f in zip(job_ids, folders, strict=True)),
        "both gate jobs to be running at once",
    )
    for worker in (first, second):
        assert f"{RUN_JOB}[" in worker.log(), f"{worker.name} received no job{installation.logs()}"

    for folder in folders:
        (folder / "gate").touch()
    for job_id, content in zip(job_ids, data, strict=True):
        job: dict[str, Any] = wait_for_job(api, job_id, timeout=TIMEOUT)
        assert job["state"] == "succeeded", f"{job}{installation.logs()}"
        assert job["attempts"] == 1
        assert api.get(f"/jobs/{job_id}/outputs/copy").content == content

    for worker in (first, second):
        assert worker.running, f"{worker.name} exited{installation.logs()}"
        for text in DUPLICATE_NODE:
            assert text not in worker.log(), f"{worker.name}: {text}{installation.logs()}"
