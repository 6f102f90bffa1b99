"""The services one running lfp process shares, built once from its settings."""

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
from lfp.uploads.append import UploadAppender
from lfp.uploads.dropzone import DropzoneUploads
from lfp.uploads.service import UploadService


@dataclass(frozen=True)
class Services:
    """Everything a request handler may need, wired together."""

    settings: Settings
    db: Database
    store: BlobStore
    jwt_secret: str
    users: UserService
    files: FileService
    uploads: UploadService
    appender: UploadAppender
    dropzone: DropzoneUploads
    verifier: Verifier
    registry: Registry
    runner: JobRunner
    executor: Executor
    jobs: JobService


def build_services(settings: Settings) -> Services:
    """Build the engine, the store and the services for `settings` (the one place that does)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    store: BlobStore = LocalBlobStore(settings.blob_dir, fsync=settings.fsync)
    files = FileService(db, store)
    registry = Registry.from_entry_points(settings)
    runner = JobRunner(db, store, registry, settings)
    executor = build_executor(settings, runner)
    jobs = JobService(db, store, registry, executor, settings)
    verifier = Verifier(db, store, on_settled=jobs.file_settled)
    uploads = UploadService(db, store, settings, verifier, jobs)
    return Services(
        settings=settings,
        db=db,
        store=store,
        jwt_secret=load_or_create_jwt_secret(settings),
        users=UserService(db),
        files=files,
        uploads=uploads,
        appender=UploadAppender(db, store, settings, uploads),
        dropzone=DropzoneUploads(uploads),
        verifier=verifier,
        registry=registry,
        runner=runner,
        executor=executor,
        jobs=jobs,
    )
