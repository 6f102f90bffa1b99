"""The Celery executor: jobs go to `lfp worker` processes through a Redis or RabbitMQ broker.

The broker only rings the bell. A message lost, delivered twice or redelivered after a
worker died is harmless: the runner claims the job in the database first.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

from lfp.config import Settings

log = logging.getLogger(__name__)

RUN_JOB = "lfp.run_job"
QUEUE = "lfp-jobs"


def celery_app(settings: Settings) -> Celery:
    """A Celery app for `settings`' broker, configured for at-least-once jobs."""
    app = Celery("lfp", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # Acknowledge a job's message only when the job has ended, and hand it out again
        # when the worker running it dies: a killed worker's job runs again elsewhere.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # Redis hands an unacknowledged message out again after this long; the runner's
        # lease decides the rest, so it only has to outlast a job's normal queueing.
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app


class CeleryExecutor:
    """Sends each job id as a task message; `lfp worker` processes run them."""

    def __init__(self, settings: Settings) -> None:
        self._app = celery_app(settings)
        # Kombu's producer pool is not meant to be shared across threads without care.
        self._lock = threading.Lock()

    def submit(self, job_id: uuid.UUID) -> None:
        """Publish the job's message (raises if the broker cannot be reached)."""
        with self._lock:
            self._app.send_task(RUN_JOB, args=[str(job_id)], queue=QUEUE)

    def shutdown(self) -> None:
        """Close the broker connections."""
        self._app.close()


def run_worker(settings: Settings, concurrency: int | None = None) -> None:
    """Run a Celery worker that executes lfp jobs until it is stopped."""
    from lfp.context import build_context  # the worker needs the whole context; the API not
    from lfp.db.migrate import upgrade

    upgrade(settings.resolved_database_url)
    context = build_context(settings)
    app = celery_app(settings)

    @app.task(name=RUN_JOB)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> None:
        context.runner.run(uuid.UUID(job_id))

    def release_jobs(**_: Any) -> None:
        # A warm shutdown would wait for hour-long jobs; give them back to the queue instead.
        context.runner.stop()

    worker_shutting_down.connect(release_jobs, weak=False)
    workers = concurrency or settings.job_workers
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={workers}",
                f"--queues={QUEUE}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        context.db.dispose()
