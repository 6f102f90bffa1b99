"""The services one running lfp process shares, built once from its settings.

With `lfp.worker`, the only place that wires lfp together: every other module receives
what it needs in its constructor.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfp.admin.service import AdminService
from lfp.auth.service import UserService
from lfp.auth.sessions import SessionPolicy, SessionService
from lfp.config import Settings, load_or_create_jwt_secret
from lfp.db.engine import Database
from lfp.files.service import FileService
from lfp.files.verify import Verifier
from lfp.jobs.executor import Executor, build_executor
from lfp.jobs.runner import JobRunner
from lfp.jobs.service import JobService
from lfp.metrics import Metrics
from lfp.processors.registry import Registry
from lfp.storage import BlobStore, LocalBlobStore
from lfp.uploads.appends import AppendReceiver
from lfp.uploads.chunks import ChunkReceiver
from lfp.uploads.concat import Concatenator
from lfp.uploads.integrity import UploadRanges
from lfp.uploads.lifecycle import UploadLifecycle


@dataclass(frozen=True)
class Services:
    """Everything a request handler or a worker may need, wired together."""

    settings: Settings
    db: Database
    store: BlobStore
    jwt_secret: str
    users: UserService
    sessions: SessionService
    admin: AdminService
    files: FileService
    uploads: UploadLifecycle
    chunks: ChunkReceiver
    appends: AppendReceiver
    concat: Concatenator
    verifier: Verifier
    registry: Registry
    runner: JobRunner
    executor: Executor
    jobs: JobService
    metrics: Metrics


def build_services(settings: Settings, store: BlobStore | None = None) -> Services:
    """Build the engine, the store and the services for `settings` (the one place that does).

    `store` replaces the store the settings name (tests use a `MemoryBlobStore`).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
    metrics = Metrics(db)
    store = store or build_store(settings)
    registry = Registry.from_entry_points(settings)
    runner = JobRunner(db, store, registry, settings, metrics)
    verifier = Verifier(
        db,
        store,
        # `jobs` is built below: the executor it dispatches to runs verifications too.
        on_settled=lambda file_id: jobs.file_settled(file_id),
        recorded=UploadRanges(db, settings),
        metrics=metrics,
        lease_seconds=settings.job_lease_seconds,
    )
    executor = build_executor(settings, runner, verifier.submit)
    jobs = JobService(db, store, registry, executor, settings)
    files = FileService(db, store, executor.submit_verification)
    uploads = UploadLifecycle(db, store, settings, files, jobs, metrics)
    appends = AppendReceiver(db, store, settings, uploads, metrics)
    jwt_secret = load_or_create_jwt_secret(settings)
    return Services(
        settings=settings,
        db=db,
        store=store,
        jwt_secret=jwt_secret,
        users=UserService(db),
        sessions=SessionService(db, SessionPolicy.from_settings(settings, jwt_secret)),
        admin=AdminService(db, store, settings),
        files=files,
        uploads=uploads,
        chunks=ChunkReceiver(db, store, settings, uploads, metrics),
        appends=appends,
        concat=Concatenator(db, store, uploads, appends),
        verifier=verifier,
        registry=registry,
        runner=runner,
        executor=executor,
        jobs=jobs,
        metrics=metrics,
    )


def build_admin(settings: Settings) -> AdminService:
    """What the `lfp users` commands need: the accounts, on the database and store of
    `settings`, without the executor or anything else a server runs."""
    db = Database(settings.resolved_database_url, pool_size=1)
    return AdminService(db, build_store(settings), settings)


def build_store(settings: Settings) -> BlobStore:
    """The blob store `settings` name: an S3 bucket, or a local folder."""
    s3 = settings.s3_location
    if s3 is None:
        return LocalBlobStore(
            settings.blob_dir, fsync=settings.fsync, reserve_bytes=settings.db_reserve_bytes
        )
    from lfp.storage.s3 import S3BlobStore  # boto3 is imported only when S3 is used

    bucket, prefix = s3
    return S3BlobStore(
        bucket,
        prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        spool_dir=settings.work_dir / "spool",
    )
