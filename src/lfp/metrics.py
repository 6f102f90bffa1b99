"""What one lfp process counts, in its own Prometheus registry (never the global one).

`build_services` makes one `Metrics` per process (per application in tests) and hands it
to the services that record into it; `/metrics` (and `lfp worker`'s own port) render its
registry. Jobs and files by state are read from the database at scrape time, so every
server and worker sharing it reports the same numbers.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from lfp.db.engine import Database

log = logging.getLogger(__name__)

# Verification reads whole files and jobs run for hours: buckets from a second to a day.
LONG_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, float("inf"))
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def reason_label(exc: BaseException) -> str:
    """A short label for why a request was refused: `DigestMismatch` -> `digest_mismatch`."""
    return _CAMEL.sub("_", type(exc).__name__).lower()


class Metrics:
    """The counters and histograms of one process, and the registry that holds them."""

    def __init__(self, db: Database | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "lfp_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.bytes_received = Counter(
            "lfp_bytes_received", "Bytes received in chunk and append bodies.", registry=r
        )
        self.chunks_stored = Counter("lfp_chunks_stored", "Chunks stored.", registry=r)
        self.chunks_refused = Counter(
            "lfp_chunks_refused", "Chunks refused, by reason.", ["reason"], registry=r
        )
        self.uploads = Counter(
            "lfp_uploads",
            "Uploads created, completed, expired and deduplicated.",
            ["event"],
            registry=r,
        )
        self.verification_seconds = Histogram(
            "lfp_verification_seconds",
            "Time one file's verification pass took.",
            buckets=LONG_BUCKETS,
            registry=r,
        )
        self.job_seconds = Histogram(
            "lfp_job_seconds",
            "Time jobs ran, by processor.",
            ["processor"],
            buckets=LONG_BUCKETS,
            registry=r,
        )
        if db is not None:
            r.register(StateCollector(db))

    def request(self, method: str, route: str, status: int) -> None:
        self.requests.labels(method, route, str(status)).inc()

    async def counting(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`body` as it is, counting its bytes as they arrive."""
        async for piece in body:
            self.bytes_received.inc(len(piece))
            yield piece

    @contextlib.contextmanager
    def chunk_refusals(self) -> Iterator[None]:
        """Count a chunk request that raises as refused, by the error's kind."""
        try:
            yield
        except Exception as exc:
            self.chunks_refused.labels(reason_label(exc)).inc()
            raise

    def upload_event(self, event: str, count: int = 1) -> None:
        """`created`, `completed`, `expired` or `deduplicated` (completed at creation, the
        owner having the bytes already)."""
        self.uploads.labels(event).inc(count)

    @contextlib.contextmanager
    def timed(self, histogram: Histogram) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            histogram.observe(time.monotonic() - start)


class StateCollector(Collector):
    """Jobs and files by state, counted by the database at each scrape."""

    QUERIES = {
        "lfp_jobs": "SELECT state, count(*) FROM jobs GROUP BY state",
        "lfp_files": "SELECT state, count(*) FROM files GROUP BY state",
    }

    def __init__(self, db: Database) -> None:
        self._db = db

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing is read from the database when the collector is registered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._db.engine.connect() as connection:
                rows = {
                    name: connection.execute(text(query)).all()
                    for name, query in self.QUERIES.items()
                }
        except Exception:
            log.warning("metrics: counting jobs and files by state failed", exc_info=True)
            return
        for name, found in rows.items():
            kind = name.removeprefix("lfp_")
            gauge = GaugeMetricFamily(name, f"{kind.capitalize()} by state.", labels=["state"])
            for state, count in found:
                gauge.add_metric([str(state)], count)
            yield gauge
