"""Verification of completed uploads: one read pass for the digests, then publish or fail.

The pass computes the whole file's digests and checks every acknowledged range against the
sha-256 recorded when it was stored (`lfp.files.integrity`): a file is published only when
it holds exactly the bytes that were acknowledged. Runs in a small thread pool beside the
server or on `lfp worker` processes (the executor decides). A verification holds a lease on
the file's row (`verify_claim`, `verify_lease_until`), renewed while it reads and checked
before it records anything: files whose verifier died are found by `orphans` and verified
again elsewhere; every step is safe to repeat.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Literal

from sqlalchemy import and_, or_, select

from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.leases import Heartbeat, Lease, LeaseColumns, LeaseLost
from lfp.digests import digest_blocks
from lfp.files.integrity import RangeChecker, RecordedRange, RecordedRanges
from lfp.files.models import FileState, StoredFile
from lfp.metrics import Metrics
from lfp.storage import BlobStore

log = logging.getLogger(__name__)

READ_BLOCK = 4 << 20
ALWAYS = ("sha256", "md5")


class _Stopping(Exception):
    """The process is shutting down: give the file's lease back for another to verify it."""


VERIFY_LEASE = LeaseColumns(StoredFile, holder="verify_claim", until="verify_lease_until")


class Verifier:
    """Computes a completed file's digests, checks its declared checksum and publishes it."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        workers: int = 2,
        on_settled: Callable[[uuid.UUID], None] | None = None,
        recorded: RecordedRanges | None = None,
        metrics: Metrics | None = None,
        lease_seconds: float = 60.0,
    ) -> None:
        self._db = db
        self._lease = Lease(db, VERIFY_LEASE, lease_seconds)
        self._metrics = metrics or Metrics()
        self._store = store
        self._on_settled = on_settled
        self._recorded = recorded
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lfp-verify")
        self._running: dict[uuid.UUID, Future[None]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def submit(self, file_id: uuid.UUID) -> Future[None]:
        """Verify `file_id` in the background (once: a second submit joins the first)."""
        with self._lock:
            running = self._running.get(file_id)
            if running is not None and not running.done():
                return running
            future = self._pool.submit(self._verify_logged, file_id)
            self._running[file_id] = future
        future.add_done_callback(lambda done: self._forget(file_id, done))
        return future

    def _forget(self, file_id: uuid.UUID, future: Future[None]) -> None:
        with self._lock:
            if self._running.get(file_id) is future:
                del self._running[file_id]

    def in_progress(self, file_id: uuid.UUID) -> Future[None] | None:
        """The verification of `file_id` running in this process, if any."""
        return self._running.get(file_id)

    def orphans(self, *, unsent_for: float = 0.0) -> list[uuid.UUID]:
        """Files `verifying` that nobody verifies: their lease lapsed, or was never taken
        (nor given back) and the file is older than `unsent_for` seconds (its first message
        may still be on its way), and no verification of them runs in this process."""
        now = utcnow()
        never_sent = now - timedelta(seconds=unsent_for)
        with self._db.read() as session:
            ids = session.scalars(
                select(StoredFile.id).where(
                    StoredFile.state == FileState.verifying,
                    or_(
                        StoredFile.verify_lease_until < now,
                        and_(
                            StoredFile.verify_lease_until.is_(None),
                            StoredFile.created_at <= never_sent,
                        ),
                    ),
                )
            ).all()
        with self._lock:
            return [i for i in ids if i not in self._running]

    def shutdown(self) -> None:
        """Stop now; files in progress stay `verifying`, their leases given back at once.

        A verification of a huge file can take minutes: it stops at its next block rather
        than holding up the server's exit.
        """
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _blocks(self, blocks: Iterable[bytes], beat: Heartbeat) -> Iterator[bytes]:
        for block in blocks:
            if self._stopping.is_set():
                raise _Stopping
            beat.check()
            yield block

    def run(self, file_id: uuid.UUID) -> None:
        """Verify `file_id` in the calling thread (a worker's task); never raises."""
        self._verify_logged(file_id)

    def _verify_logged(self, file_id: uuid.UUID) -> None:
        try:
            with self._metrics.timed(self._metrics.verification_seconds):
                self.verify(file_id)
        except Exception:
            log.exception("verifying file %s failed", file_id)

    def verify(self, file_id: uuid.UUID) -> None:
        """Digest, check and publish one file, moving it to `ready` or `failed`.

        Only while holding the file's lease: a file another live verifier holds is left
        to it, and one whose lease was lost meanwhile records nothing.
        """
        token = self._claim(file_id)
        if token is None:
            return
        beat = Heartbeat(self._lease, file_id, token, interval=self._lease.seconds / 4).start()
        try:
            self._verify_held(file_id, token, beat)
        except _Stopping:
            log.info("verification of file %s interrupted by shutdown", file_id)
        except LeaseLost:
            log.warning("verification of file %s lost its lease; recording nothing", file_id)
        except Exception:
            log.exception("verifying file %s failed", file_id)
            error = "verification failed: the stored bytes could not be read"
            self._finish(file_id, token, error=error)
        finally:
            beat.stop()
            self._lease.release(file_id, token)  # unless recorded (or lost) already

    def _claim(self, file_id: uuid.UUID) -> uuid.UUID | None:
        """Take the file's lease; None if it is not `verifying` or a live verifier has it."""
        with self._db.write() as session:
            file = session.get(StoredFile, file_id, with_for_update=True)
            if file is None or file.state != FileState.verifying:
                return None
            if self._lease.remaining(file) is not None:
                return None
            return self._lease.take(file)

    def _verify_held(self, file_id: uuid.UUID, token: uuid.UUID, beat: Heartbeat) -> None:
        with self._db.read() as session:
            file = session.get(StoredFile, file_id)
        if file is None or file.state != FileState.verifying:
            return
        staged = file.staging_key is not None and self._store.exists(file.staging_key)
        if staged and file.staging_key and not self._store.reads_staging:
            # S3 cannot read an unfinished multipart upload: finish it at the file's own
            # key first. The file stays `verifying` (unreadable) until the pass below.
            self._store.publish(file.staging_key, file.storage_key, file.size)
            staged = False
        source = file.staging_key if staged and file.staging_key else file.storage_key
        checker = RangeChecker(self._recorded.ranges(file_id) if self._recorded else [])
        # Up to the file's size only: an aborted write may have left bytes past its end.
        read = self._store.read(source, 0, file.size, block_size=READ_BLOCK)
        digests = digest_blocks(self._blocks(read, beat), ALWAYS, also=(checker,))
        beat.check()
        damaged = checker.finish()
        if damaged:
            if self._finish(file_id, token, damaged=damaged) not in ("kept", "lost"):
                self._store.delete(source)
            return
        mismatch = _checksum_mismatch(file.expected_checksum, digests)
        if mismatch:
            if self._finish(file_id, token, error=mismatch, digests=digests) != "lost":
                self._store.delete(source)
            return
        if staged and file.staging_key:
            beat.check()
            self._store.publish(file.staging_key, file.storage_key, file.size)
        if self._finish(file_id, token, digests=digests) == "gone":
            self._store.delete(file.storage_key)  # the file was deleted meanwhile

    def _finish(
        self,
        file_id: uuid.UUID,
        token: uuid.UUID,
        *,
        error: str | None = None,
        digests: dict[str, str] | None = None,
        damaged: list[RecordedRange] | None = None,
    ) -> Literal["recorded", "kept", "gone", "settled", "lost"]:
        """Record the outcome: `recorded`; `kept` (failed on damaged ranges, its bytes kept
        for the upload to go on with); `gone` (the file was deleted meanwhile); `settled`
        (another verification, say on another server, got there first); or `lost` (the
        lease went to another verification: nothing recorded)."""
        outcome: Literal["recorded", "kept"] = "recorded"
        with self._db.write() as session:
            file = session.get(StoredFile, file_id, with_for_update=True)
            if file is None:
                return "gone"
            if file.state != FileState.verifying:
                return "settled"
            if not self._lease.holds(file, token):
                return "lost"
            self._lease.clear(file)
            if damaged and self._recorded is not None:
                reopened = self._recorded.reopen(
                    session, file_id, damaged, staging_kept=self._store.reads_staging
                )
                error = reopened.error
                outcome = "kept" if reopened.keep_bytes else "recorded"
            if digests and not damaged:
                file.sha256 = digests["sha256"]
                file.md5 = digests["md5"]
            file.state = FileState.failed if error else FileState.ready
            file.error = error
            file.staging_key = None
        if self._on_settled is not None:
            # Jobs waiting for the file start now (or fail with it). Should this be missed
            # by a crash, job recovery finds the jobs still queued on a settled file.
            try:
                self._on_settled(file_id)
            except Exception:
                log.exception("starting the jobs of file %s failed; recovery will retry", file_id)
        return outcome


def _checksum_mismatch(expected: str | None, digests: dict[str, str]) -> str | None:
    if not expected:
        return None
    algorithm, _, value = expected.partition(":")
    actual = digests.get(algorithm)
    if actual == value:
        return None
    return f"checksum mismatch: declared {expected}, the received bytes have {algorithm}:{actual}"
