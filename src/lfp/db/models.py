"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from lfp.auth.models import User
from lfp.catalog.products.models import Product, ProductAggregate
from lfp.catalog.titles.models import Title
from lfp.db.base import Base
from lfp.files.models import StoredFile
from lfp.jobs.models import Job, JobOutput
from lfp.uploads.models import Upload, UploadChunk

__all__ = [
    "Base",
    "Job",
    "JobOutput",
    "Product",
    "ProductAggregate",
    "StoredFile",
    "Title",
    "Upload",
    "UploadChunk",
    "User",
]
