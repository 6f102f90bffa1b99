"""A `BlobStore` on an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, moto …).

A staging blob is one multipart upload at the blob's own key; its reference carries the
part size and the upload id, so any server can add to it. A chunk of at least the minimum
part size becomes the part numbered after its index. Smaller bytes (Dropzone's small
chunks, the unfinished tail of a tus append) are held as "pieces", small objects named by
their byte range beside the blob, until `publish` joins them: a last piece by a
server-side copy, several small ones by streaming them into parts. Publishing is
CompleteMultipartUpload at the blob's key, so a published blob is never copied.

What a server holds per chunk in flight: one part in a temporary file (`s3_writers`), and
the block being written in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lfp.storage.base import StorageError, StoreLimits
from lfp.storage.s3_writers import S3AppendWriter, S3Location, S3PartWriter, Spool, fill_parts

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1 << 20
S3_LIMITS = StoreLimits(min_part_size=5 * MiB, max_parts=10_000, max_object_size=5 << 40)
MAX_PART_SIZE = 5 << 30
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


class UploadGone(StorageError):
    """The multipart upload is no longer there (completed or aborted)."""


class RangeNotSatisfiable(StorageError):
    """A read started at or past the end of the blob."""


class S3BlobStore:
    """Blobs as objects under `prefix` in `bucket`; staging blobs are multipart uploads."""

    reads_staging = False

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        spool_dir: Path | None = None,
        limits: StoreLimits = S3_LIMITS,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.spool_dir = spool_dir
        self.limits = limits
        if spool_dir is not None:
            spool_dir.mkdir(parents=True, exist_ok=True)
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=64,
            # Checksums only where S3 asks for them: the parts carry lfp's own sha-256.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client: S3Client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    # -- requests, with S3's errors turned into the store's -------------------------

    def _object(self, key: str) -> str:
        return self.prefix + key

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        try:
            return method(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING_CODES:
                raise FileNotFoundError(f"{what}: no such blob") from exc
            if code == "NoSuchUpload":
                raise UploadGone(f"{what}: the staging blob is gone") from exc
            if code == "InvalidRange":
                raise RangeNotSatisfiable(f"{what}: the range starts past the end") from exc
            raise StorageError(f"{what}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"{what}: {exc}") from exc

    def upload_part(self, loc: S3Location, number: int, spool: Spool) -> str:
        """Send `spool` as part `number` of the staging blob; its ETag."""
        if number > (self.limits.max_parts or number):
            raise StorageError(f"part {number} is past the store's {self.limits.max_parts}")
        answer = self._call(
            "upload part",
            self.client.upload_part,
            Key=self._object(loc.key),
            UploadId=loc.upload_id,
            PartNumber=number,
            Body=spool.rewound(),
            ContentLength=spool.length,
        )
        return str(answer["ETag"])

    def put_piece(self, loc: S3Location, start: int, spool: Spool) -> None:
        """Store `spool` as the piece at `start`; UploadGone if the blob was deleted.

        A piece is an object of its own, which S3 would take whether or not the multipart
        upload is still there. Looking after the put (not before) leaves no gap: a delete
        that lists the pieces after this put removes it, and one before is seen here.
        """
        piece = loc.piece(start, start + spool.length)
        self._call(
            "put",
            self.client.put_object,
            Key=self._object(piece),
            Body=spool.rewound(),
            ContentLength=spool.length,
        )
        if not self._upload_exists(loc):
            self._call("delete", self.client.delete_object, Key=self._object(piece))
            raise UploadGone(f"staging blob {loc.key} is gone: the piece was not kept")

    # -- the protocol ----------------------------------------------------------------

    def create_staging(self, key: str, size: int | None, part_size: int = 0) -> str:
        """Start the multipart upload; the reference names it and the part size."""
        if size is not None and self.limits.max_object_size and size > self.limits.max_object_size:
            raise StorageError(f"{size} bytes is more than one object can hold")
        part_size = max(part_size, self.limits.min_part_size)
        answer = self._call("create", self.client.create_multipart_upload, Key=self._object(key))
        return f"{key}#{part_size}#{answer['UploadId']}"

    def open_part(self, key: str, index: int, offset: int, length: int) -> S3PartWriter:
        """A writer for chunk `index` (`length` bytes at `offset`)."""
        return S3PartWriter(self, S3Location(key), index, offset, length)

    def open_append(self, key: str, offset: int, max_length: int) -> S3AppendWriter:
        """A writer appending up to `max_length` bytes at `offset`."""
        return S3AppendWriter(self, S3Location(key), offset, max_length)

    def concatenate(self, key: str, sources: Sequence[str], sizes: Sequence[int]) -> None:
        """Join the sources into staging `key` by server-side part copies.

        Sources are published in place first (a multipart upload cannot be copied from).
        When a source but the last is smaller than a part may be, S3 cannot copy it as
        one, and the bytes are streamed through instead, as tusd's s3store does.
        """
        loc = S3Location(key)
        objects = []
        for source, size in zip(sources, sizes, strict=True):
            source_key = S3Location(source).key
            self.publish(source, source_key, size)
            objects.append((source_key, size))
        if all(size >= self.limits.min_part_size for _, size in objects[:-1]):
            number = 1
            for source_key, size in objects:
                for start in range(0, size, MAX_PART_SIZE):
                    end = min(size, start + MAX_PART_SIZE)
                    self._copy_part(loc, number, source_key, start, end)
                    number += 1
            return
        streams = (block for source_key, _ in objects for block in self.read(source_key))
        self._compose(loc, 1, streams, sum(sizes))

    def _copy_part(self, loc: S3Location, number: int, source: str, start: int, end: int) -> None:
        self._call(
            "copy part",
            self.client.upload_part_copy,
            Key=self._object(loc.key),
            UploadId=loc.upload_id,
            PartNumber=number,
            CopySource={"Bucket": self.bucket, "Key": self._object(source)},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )

    def _compose(self, loc: S3Location, number: int, blocks: Iterator[bytes], total: int) -> None:
        """Stream `blocks` (`total` bytes) into parts numbered from `number`."""
        max_parts = self.limits.max_parts or 10_000
        part = max(self.limits.min_part_size, -(-total // max(1, max_parts - number + 1)))
        spool = Spool(self.spool_dir)
        try:
            for full in fill_parts(spool, blocks, part):
                self.upload_part(loc, number, full)
                number += 1
            if spool.length:
                self.upload_part(loc, number, spool)
        finally:
            spool.close()

    def final_key(self, staging_key: str, wanted: str) -> str:
        """The staging blob's own key: a multipart upload completes where it was begun."""
        return S3Location(staging_key).key

    def publish(self, staging_key: str, final_key: str, size: int) -> None:
        """CompleteMultipartUpload of the parts (and pieces) covering `size` bytes."""
        loc = S3Location(staging_key)
        if final_key != loc.key:
            raise StorageError(f"{loc.key} can only be published as itself, not {final_key}")
        if not loc.upload_id or not self._upload_exists(loc):
            if self.exists(loc.key):
                return  # published already (by another server, or before a crash)
            raise StorageError(f"staging blob {loc.key} is gone")
        if size == 0:
            self._abort(loc)
            self._call("put", self.client.put_object, Key=self._object(loc.key), Body=b"")
            self._delete_pieces(loc)  # an empty chunk's piece, say
            return
        parts = self._gather(loc, size)
        self._call(
            "complete",
            self.client.complete_multipart_upload,
            Key=self._object(loc.key),
            UploadId=loc.upload_id,
            MultipartUpload={"Parts": parts},
        )
        self._delete_pieces(loc)

    def _gather(self, loc: S3Location, size: int) -> list[dict[str, Any]]:
        """The parts, in order, that hold the first `size` bytes; pieces made into parts."""
        listed = self._list_parts(loc)
        chosen: list[dict[str, Any]] = []
        offset, number = 0, 1
        while number in listed and offset + listed[number][1] <= size and offset < size:
            chosen.append({"PartNumber": number, "ETag": listed[number][0]})
            offset += listed[number][1]
            number += 1
        if offset < size:
            chain = self._piece_chain(loc, offset, size)
            if len(chain) == 1:  # the last part: S3 copies it, whatever its size
                self._copy_part(loc, number, chain[0], 0, size - offset)
            else:
                blocks = (block for piece in chain for block in self.read(piece))
                self._compose(loc, number, blocks, size - offset)
            listed = self._list_parts(loc)
            chosen += [
                {"PartNumber": n, "ETag": listed[n][0]} for n in sorted(listed) if n >= number
            ]
        return chosen

    def _piece_chain(self, loc: S3Location, start: int, end: int) -> list[str]:
        """The pieces that cover `[start, end)` end to end; `StorageError` on a gap."""
        ranges: dict[int, list[int]] = {}
        for key in self._list_keys(loc.pieces):
            first, _, last = key.rpartition("/")[2].partition("-")
            ranges.setdefault(int(first), []).append(int(last))
        chain, offset = [], start
        while offset < end:
            ends = [e for e in ranges.get(offset, []) if e <= end]
            if not ends:
                raise StorageError(f"the bytes at {offset} of {loc.key} are missing")
            chain.append(loc.piece(offset, max(ends)))
            offset = max(ends)
        return chain

    def _list_parts(self, loc: S3Location) -> dict[int, tuple[str, int]]:
        parts: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            page = self._call(
                "list parts",
                self.client.list_parts,
                Key=self._object(loc.key),
                UploadId=loc.upload_id,
                PartNumberMarker=marker,
            )
            for part in page.get("Parts", []):
                parts[part["PartNumber"]] = (part["ETag"], part["Size"])
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    def _list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._object(prefix)):
                for item in page.get("Contents", []):
                    yield item["Key"].removeprefix(self.prefix)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"list {prefix}: {exc}") from exc

    def _upload_exists(self, loc: S3Location) -> bool:
        try:
            self._call(
                "list parts",
                self.client.list_parts,
                Key=self._object(loc.key),
                UploadId=loc.upload_id,
                MaxParts=1,
            )
        except UploadGone:
            return False
        return True

    def put_file(self, key: str, path: Path) -> None:
        """Upload the local file at `path` (in parts, when it is large)."""
        try:
            self.client.upload_file(str(path), self.bucket, self._object(key))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"put {key}: {exc}") from exc

    def read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream `[start, end)` of `key` with one ranged GET."""
        if end is not None and end <= start:
            return
        wanted = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            answer = self._call("read", self.client.get_object, Key=self._object(key), Range=wanted)
        except RangeNotSatisfiable:
            return  # starts at or past the end: nothing to read
        body = answer["Body"]
        try:
            yield from body.iter_chunks(block_size)
        except BotoCoreError as exc:
            raise StorageError(f"read {key}: {exc}") from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        """Whether `key` is an open staging blob or an object."""
        loc = S3Location(key)
        if loc.upload_id and self._upload_exists(loc):
            return True
        try:
            self._call("head", self.client.head_object, Key=self._object(loc.key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Abort the multipart upload (if any), remove the object and its pieces."""
        loc = S3Location(key)
        if loc.upload_id:
            self._abort(loc)
        self._call("delete", self.client.delete_object, Key=self._object(loc.key))
        self._delete_pieces(loc)

    def _abort(self, loc: S3Location) -> None:
        with contextlib.suppress(UploadGone, FileNotFoundError):  # completed or aborted
            self._call(
                "abort",
                self.client.abort_multipart_upload,
                Key=self._object(loc.key),
                UploadId=loc.upload_id,
            )

    def _delete_pieces(self, loc: S3Location) -> None:
        keys = list(self._list_keys(loc.pieces))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._object(k)} for k in keys[start : start + 1000]]
            self._call("delete", self.client.delete_objects, Delete={"Objects": batch})

    def free_space(self) -> None:
        """A bucket has no meaningful free space."""
        return None

    def local_path(self, key: str) -> None:
        """Objects have no local path."""
        return None

    def check(self) -> None:
        """Fail unless the bucket answers."""
        try:
            self._call("check", self.client.head_bucket)
        except FileNotFoundError as exc:
            raise StorageError(f"bucket {self.bucket} does not exist") from exc
