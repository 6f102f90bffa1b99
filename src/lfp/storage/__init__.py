"""Blob storage: the `BlobStore` protocol and its implementations."""

from lfp.storage.base import BlobStore, PartWriter, StorageError, StorageFull
from lfp.storage.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "PartWriter", "StorageError", "StorageFull"]
