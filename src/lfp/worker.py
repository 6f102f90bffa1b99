"""`lfp worker`: a Celery worker process that runs lfp jobs, wired from its settings.

Beside `bootstrap`, the one other place that assembles lfp: the worker needs the job
runner and everything it uses, the API server none of this module.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from celery.exceptions import Reject
from celery.signals import worker_shutting_down
from prometheus_client import start_http_server

from lfp.bootstrap import build_services
from lfp.config import Settings
from lfp.db.migrate import upgrade
from lfp.jobs.celery import RUN_JOB, VERIFY_FILE, celery_app


def run_worker(settings: Settings, concurrency: int | None = None) -> None:
    """Run a Celery worker that executes lfp jobs until it is stopped."""
    upgrade(settings.resolved_database_url)
    services = build_services(settings)
    app = celery_app(settings)

    shutting_down = threading.Event()

    @app.task(name=RUN_JOB)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> None:
        if not shutting_down.is_set():
            services.runner.run(uuid.UUID(job_id))
        if shutting_down.is_set():
            # A message that reached this worker as it began to stop was skipped (or its
            # job given back): hand it to another worker now rather than leave the job to
            # the server's requeue, minutes away. A job that has ended ignores it.
            raise Reject("the worker is shutting down", requeue=True)

    @app.task(name=VERIFY_FILE)  # type: ignore[untyped-decorator]
    def verify_file(file_id: str) -> None:
        if not shutting_down.is_set():
            services.verifier.run(uuid.UUID(file_id))
        if shutting_down.is_set():
            # As for jobs: the verification gave its lease back; let another worker go on.
            raise Reject("the worker is shutting down", requeue=True)

    def release_jobs(**_: Any) -> None:
        # A warm shutdown would wait for hour-long jobs; give them back to the queue instead.
        shutting_down.set()
        services.runner.stop()
        services.verifier.shutdown()

    worker_shutting_down.connect(release_jobs, weak=False)
    logging.getLogger("celery.app.trace").addFilter(_reject_without_traceback)
    workers = concurrency or settings.job_workers
    exporter = None
    if settings.worker_metrics_port is not None:
        exporter, _ = start_http_server(
            settings.worker_metrics_port, registry=services.metrics.registry
        )
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={workers}",
                f"--queues={settings.job_queue}",
                f"--hostname={node_name()}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        if exporter is not None:
            exporter.shutdown()
        services.db.dispose()


def node_name(pid: int | None = None, host: str | None = None) -> str:
    """This worker's Celery node name, `lfp-<pid>@<host>`: unique on its host.

    Two workers with one name on one host make RabbitMQ refuse the second one's
    consumer (and Celery's remote control mix up their replies).
    """
    return f"lfp-{os.getpid() if pid is None else pid}@{host or socket.gethostname()}"


def _reject_without_traceback(record: logging.LogRecord) -> bool:
    """Keep Celery's one-line note of a message handed back, without its traceback.

    Every job running when a worker stops is handed back that way: routine, not an error.
    """
    if record.exc_info and isinstance(record.exc_info[1], Reject):
        record.exc_info = None
        record.exc_text = None
    return True
