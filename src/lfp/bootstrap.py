"""The services one running lfp process shares, built once from its settings.

With `lfp.worker`, the only place that wires lfp together: every other module receives
what it needs in its constructor.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfp.auth.service import UserService
from lfp.config import Settings, load_or_create_jwt_secret
from lfp.db.engine import Database
from lfp.files.service import FileService
from lfp.files.verify import Verifier
from lfp.jobs.executor import Executor, build_executor
from lfp.jobs.runner import JobRunner
from lfp.jobs.service import JobService
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


def build_services(settings: Settings, store: BlobStore | None = None) -> Services:
    """Build the engine, the store and the services for `settings` (the one place that does).

    `store` replaces the store the settings name (tests use a `MemoryBlobStore`).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    store = store or LocalBlobStore(settings.blob_dir, fsync=settings.fsync)
    registry = Registry.from_entry_points(settings)
    runner = JobRunner(db, store, registry, settings)
    executor = build_executor(settings, runner)
    jobs = JobService(db, store, registry, executor, settings)
    verifier = Verifier(
        db, store, on_settled=jobs.file_settled, recorded=UploadRanges(db, settings)
    )
    files = FileService(db, store, verifier)
    uploads = UploadLifecycle(db, store, settings, files, jobs)
    appends = AppendReceiver(db, store, settings, uploads)
    return Services(
        settings=settings,
        db=db,
        store=store,
        jwt_secret=load_or_create_jwt_secret(settings),
        users=UserService(db),
        files=files,
        uploads=uploads,
        chunks=ChunkReceiver(db, store, settings, uploads),
        appends=appends,
        concat=Concatenator(db, store, uploads, appends),
        verifier=verifier,
        registry=registry,
        runner=runner,
        executor=executor,
        jobs=jobs,
    )
