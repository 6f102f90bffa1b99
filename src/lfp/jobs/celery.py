"""The Celery executor: jobs go to `lfp worker` processes through a Redis or RabbitMQ broker.

The broker only rings the bell. A message lost, delivered twice or redelivered after a
worker died is harmless: the runner claims the job in the database first.
"""

from __future__ import annotations

import logging
import threading
import uuid

from celery import Celery

from lfp.config import Settings

log = logging.getLogger(__name__)

RUN_JOB = "lfp.run_job"
VERIFY_FILE = "lfp.verify_file"


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

    def submit_verification(self, file_id: uuid.UUID) -> None:
        """Publish the file's verification message (raises if the broker is unreachable)."""
        with self._lock:
            self._app.send_task(VERIFY_FILE, args=[str(file_id)], queue=self._queue)

    def shutdown(self) -> None:
        """Close the broker connections."""
        self._app.close()
