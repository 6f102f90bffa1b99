"""Fixtures of the storage tests: the stores the `BlobStore` contract runs on.

`FLAVOURS` lists them: the local store on `tmp_path` with fsync off and on, the memory
store, and the S3 store on moto's S3 server (one bucket for the session, a prefix of its
own per test). A new store joins the contract by adding one `Flavour`: how to make a
store, and, if it can be made full, how to make one that holds at most a given number of
bytes (tests of `StorageFull` are skipped, with the reason given, for stores that cannot).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lfp.storage import (
    BlobStore,
    LocalBlobStore,
    MemoryBlobStore,
)
from lfp.storage.s3 import S3BlobStore
from tests.s3 import MotoServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3Place:
    """A bucket on moto's S3 server and a client configured as the store configures its own."""

    bucket: str
    client: S3Client

    def new_store(self, spool_dir: Path) -> S3BlobStore:
        """A store of its own, empty: a fresh prefix in the shared bucket."""
        return S3BlobStore(
            self.bucket, f"contract/{uuid.uuid4().hex}", spool_dir=spool_dir, client=self.client
        )


@pytest.fixture(scope="session")
def s3_place(moto: MotoServer) -> S3Place:
    """One bucket for the session. Each store gets a prefix of its own, so no test sees
    another's objects, and a bucket and a client are not made for every test."""
    made = S3BlobStore(moto.new_bucket(), endpoint_url=moto.url)
    return S3Place(made.bucket, made.client)


LOCAL_NOT_LIMITED = (
    "a local store is full only when its file system is; a small file system would have "
    "to be mounted, which unit tests cannot rely on"
)


@dataclass(frozen=True)
class Flavour:
    """One store implementation under test."""

    name: str
    make: Callable[[Path, pytest.FixtureRequest], BlobStore]
    """A fresh, empty store using `tmp_path` (and fixtures from the request) as it likes."""
    make_limited: Callable[[Path, int], BlobStore] | None = None
    """A fresh store that holds at most `capacity` bytes, if the store can be made full."""
    why_not_limited: str = ""
    examples: int = 60
    """How many examples each property-based case tries (fewer where each one is slow)."""


def _s3(tmp: Path, request: pytest.FixtureRequest) -> BlobStore:
    place: S3Place = request.getfixturevalue("s3_place")
    return place.new_store(tmp / "spool")


FLAVOURS = [
    Flavour(
        "local",
        lambda tmp, _: LocalBlobStore(tmp / "store", fsync=False),
        why_not_limited=LOCAL_NOT_LIMITED,
    ),
    Flavour(
        "local-fsync",
        lambda tmp, _: LocalBlobStore(tmp / "store", fsync=True),
        why_not_limited=LOCAL_NOT_LIMITED,
    ),
    Flavour(
        "memory",
        lambda tmp, _: MemoryBlobStore(),
        lambda tmp, capacity: MemoryBlobStore(capacity=capacity),
    ),
    Flavour(
        "s3",
        _s3,
        why_not_limited="a bucket has no capacity to fill: its free_space is None",
        examples=15,  # each example is some twenty requests to the S3 server
    ),
]


@pytest.fixture(params=FLAVOURS, ids=[flavour.name for flavour in FLAVOURS])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    """The implementation a test runs on."""
    chosen: Flavour = request.param
    return chosen


@pytest.fixture
def store(flavour: Flavour, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    """A fresh, empty store of the flavour under test."""
    return flavour.make(tmp_path, request)


@pytest.fixture
def limited(flavour: Flavour, tmp_path: Path) -> Callable[[int], BlobStore]:
    """Makes stores of the flavour that hold at most `capacity` bytes, or skips the test."""
    make = flavour.make_limited
    if make is None:
        pytest.skip(f"{flavour.name}: {flavour.why_not_limited}")

    def make_store(capacity: int) -> BlobStore:
        return make(tmp_path / uuid.uuid4().hex, capacity)

    return make_store


@pytest.fixture(params=["staging", "published"])
def read_from(request: pytest.FixtureRequest, store: BlobStore) -> str:
    """Where a test reads the bytes it wrote: the staging blob itself, or the published blob.

    Reading staging is skipped on a store that declares it cannot (`reads_staging`).
    """
    if request.param == "staging" and not store.reads_staging:
        pytest.skip(
            f"{type(store).__name__}.reads_staging is False: "
            "a staging blob cannot be read before it is published"
        )
    return str(request.param)
