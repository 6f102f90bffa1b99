"""What the paths that write an upload's bytes (chunks, appends) share."""

from __future__ import annotations

from lfp.config import Settings
from lfp.db.engine import Database
from lfp.db.leases import Lease, LeaseColumns
from lfp.metrics import Metrics
from lfp.storage import BlobStore
from lfp.uploads.lifecycle import UploadLifecycle


class UploadWriter:
    """What the paths that write an upload's bytes (chunks, appends) share: the services
    they use, and a lease of their own kind (`LEASE`) on what one request writes."""

    LEASE: LeaseColumns

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        settings: Settings,
        lifecycle: UploadLifecycle,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._metrics = metrics or lifecycle.metrics
        self._store = store
        self._settings = settings
        self._lifecycle = lifecycle
        self._lease = Lease(db, self.LEASE, settings.chunk_lease_seconds)
