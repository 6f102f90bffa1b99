"""Blob storage: the `BlobStore` protocol and its implementations."""

from lfp.storage.base import BlobStore, PartWriter, StorageError, StorageFull, StoreLimits
from lfp.storage.local import LocalBlobStore
from lfp.storage.memory import MemoryBlobStore
from lfp.storage.reader import open_blob

__all__ = [
    "BlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "PartWriter",
    "StorageError",
    "StorageFull",
    "StoreLimits",
    "open_blob",
]
