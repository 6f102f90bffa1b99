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
from celery.exceptions import Reject
from celery.signals import worker_shutting_down

from lfp.config import Settings

log = logging.getLogger(__name__)

RUN_JOB = "lfp.run_job"


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
        task_default_queue=settings.job_queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # Redis hands an unacknowledged message out again after this long; the runner's
        # lease decides the rest, so it only has to outlast a job's normal queueing.
        broker_transport_options={"visibility_timeout": 3600},
        # A broker hiccup must not interrupt hour-long jobs: the database lease, not the
        # broker connection, says who runs a job. (Celery 6 plans to flip this default.)
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


class CeleryExecutor:
    """Sends each job id as a task message; `lfp worker` processes run them."""

    durable = True

    def __init__(self, settings: Settings) -> None:
        self._app = celery_app(settings)
        self._queue = settings.job_queue
        # Kombu's producer pool is not meant to be shared across threads without care.
        self._lock = threading.Lock()

    def submit(self, job_id: uuid.UUID) -> None:
        """Publish the job's message (raises if the broker cannot be reached)."""
        with self._lock:
            self._app.send_task(RUN_JOB, args=[str(job_id)], queue=self._queue)

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

    shutting_down = threading.Event()

    @app.task(name=RUN_JOB)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> None:
        if not shutting_down.is_set():
            context.runner.run(uuid.UUID(job_id))
        if shutting_down.is_set():
            # A message that reached this worker as it began to stop was skipped (or its
            # job given back): hand it to another worker now rather than leave the job to
            # the server's requeue, minutes away. A job that has ended ignores it.
            raise Reject("the worker is shutting down", requeue=True)

    def release_jobs(**_: Any) -> None:
        # A warm shutdown would wait for hour-long jobs; give them back to the queue instead.
        shutting_down.set()
        context.runner.stop()

    worker_shutting_down.connect(release_jobs, weak=False)
    logging.getLogger("celery.app.trace").addFilter(_reject_without_traceback)
    workers = concurrency or settings.job_workers
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={workers}",
                f"--queues={settings.job_queue}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        context.db.dispose()


def _reject_without_traceback(record: logging.LogRecord) -> bool:
    """Keep Celery's one-line note of a message handed back, without its traceback.

    Every job running when a worker stops is handed back that way: routine, not an error.
    """
    if record.exc_info and isinstance(record.exc_info[1], Reject):
        record.exc_info = None
        record.exc_text = None
    return True
