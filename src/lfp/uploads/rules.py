"""The size rules of uploads: chunk sizes, each chunk's bounds, and what completes a file.

Pure checks on an upload's row and on what a client declares; they raise the domain errors
every protocol shares, so the native API, tus and Dropzone enforce the same limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.errors import BadRequest, Conflict, MissingChunks, TooLarge, Unprocessable
from lfp.storage import StoreLimits
from lfp.uploads.models import Upload
from lfp.uploads.views import chunk_count

MiB = 1 << 20


def expiry_from_now(settings: Settings) -> datetime:
    """When an upload touched now expires if nothing more arrives."""
    return utcnow() + timedelta(seconds=settings.upload_expiry_seconds)


def check_chunk_size(
    settings: Settings, size: int | None, chunk_size: int, floor: int | None
) -> None:
    """Refuse a chunk size outside the server's bounds (a one-chunk file may go lower)."""
    floor = settings.min_chunk_size if floor is None else floor
    single_chunk = size is not None and size <= chunk_size
    if chunk_size > settings.max_chunk_size or (chunk_size < floor and not single_chunk):
        raise Unprocessable(
            f"chunk_size must be between {floor} and {settings.max_chunk_size} bytes "
            "(only a file that fits in one chunk may use a smaller one)"
        )


def default_chunk_size(settings: Settings, limits: StoreLimits, size: int | None) -> int:
    """The chunk size of an upload whose client did not ask for one.

    The default, or larger when the store's part count or `max_chunks_per_upload` would
    not hold the file (or, of unknown size, the largest file this server accepts) in that
    many chunks.
    """
    largest = size or settings.max_upload_size
    chunk = settings.default_chunk_size
    if limits.max_parts:
        chunk = max(chunk, _whole_mib(-(-largest // limits.max_parts)))
    # As far as max_chunk_size allows: a file of unknown size larger than that many chunks
    # hold is refused when its first chunk past the limit comes.
    by_count = _whole_mib(-(-largest // settings.max_chunks_per_upload))
    return max(chunk, min(by_count, settings.max_chunk_size))


def _whole_mib(size: int) -> int:
    return -(-size // MiB) * MiB


def check_part_count(
    settings: Settings, limits: StoreLimits, size: int | None, chunk_size: int
) -> None:
    """Refuse an upload the store cannot hold: too large, or in too many parts, or in
    more chunks than `max_chunks_per_upload`."""
    largest = size if size is not None else settings.max_upload_size
    most_chunks = settings.max_chunks_per_upload
    if size is not None and -(-size // chunk_size) > most_chunks:
        raise Unprocessable(
            f"{size} bytes in chunks of {chunk_size} would be {-(-size // chunk_size)} chunks; "
            f"an upload may have at most {most_chunks} (LFP_MAX_CHUNKS_PER_UPLOAD): use a "
            f"chunk_size of at least {-(-size // most_chunks)} bytes"
        )
    if size is not None and limits.max_object_size and size > limits.max_object_size:
        raise TooLarge(f"{size} bytes is more than the store holds ({limits.max_object_size})")
    if not limits.max_parts or chunk_size < limits.min_part_size:
        return  # chunks smaller than a part are joined into parts when the file completes
    parts = -(-largest // chunk_size)
    if parts > limits.max_parts:
        needed = default_chunk_size(settings, limits, size)
        raise Unprocessable(
            f"{largest} bytes in chunks of {chunk_size} would be {parts} parts; the store "
            f"takes at most {limits.max_parts}: use a chunk_size of at least {needed} bytes "
            "(or none, and the server picks one)"
        )


def chunk_bounds(settings: Settings, upload: Upload, index: int) -> tuple[int, bool]:
    """The most bytes chunk `index` may hold, and whether it must hold exactly that."""
    if upload.size is None:
        last = chunk_count(settings.max_upload_size, upload.chunk_size) - 1
        if index < 0:
            raise BadRequest(f"chunk index {index} is out of range")
        if index >= settings.max_chunks_per_upload:
            raise TooLarge(
                f"chunk {index} is past the {settings.max_chunks_per_upload} chunks an upload "
                "may have (LFP_MAX_CHUNKS_PER_UPLOAD)"
            )
        if index > last:
            raise TooLarge(
                f"chunk {index} would make the file larger than this server accepts "
                f"({settings.max_upload_size} bytes)"
            )
        return upload.chunk_size, False
    count = chunk_count(upload.size, upload.chunk_size)
    if not 0 <= index < count:
        span = f"0..{count - 1}" if count else "empty (the file has no bytes)"
        raise BadRequest(f"chunk index {index} is out of range {span}")
    return min(upload.chunk_size, upload.size - index * upload.chunk_size), True


def declare_size(settings: Settings, upload: Upload, size: int) -> None:
    """Give an in-order upload of deferred length its `size`, or check it is unchanged."""
    assert upload.offset is not None
    if upload.size is not None:
        if size != upload.size:
            raise BadRequest(f"the upload's length is already {upload.size}; it cannot change")
        return
    if size > settings.max_upload_size:
        raise TooLarge(
            f"{size} bytes is more than this server accepts ({settings.max_upload_size})"
        )
    if size < upload.offset:
        raise BadRequest(f"a length of {size} is less than the {upload.offset} bytes sent")
    upload.size = size


def final_size(
    settings: Settings, upload: Upload, declared: int | None, stored: dict[int, int]
) -> int:
    """The size a chunked upload completes with: declared now, at creation, or as stored."""
    if declared is not None:
        if upload.size is not None and declared != upload.size:
            raise Conflict(f"size {declared} differs from {upload.size} declared at creation")
        if declared > settings.max_upload_size:
            raise TooLarge(f"{declared} bytes is more than this server accepts")
        return declared
    if upload.size is not None:
        return upload.size
    if not stored:
        return 0
    last = max(stored)
    return last * upload.chunk_size + stored[last]


def check_appended(upload: Upload, declared: int | None) -> int:
    """The size of an in-order upload whose bytes have all arrived; `Conflict` if not."""
    assert upload.offset is not None
    if declared is not None and upload.size is not None and declared != upload.size:
        raise Conflict(f"size {declared} differs from {upload.size} declared at creation")
    size = upload.size if upload.size is not None else declared
    if size is None:
        raise Conflict("the upload's length is not declared yet")
    if upload.offset != size:
        raise Conflict(f"{upload.offset} of {size} bytes have arrived")
    return size


def check_chunks(upload: Upload, stored: dict[int, int]) -> None:
    """Refuse to complete unless every chunk is stored, each with its right size."""
    assert upload.size is not None
    count = chunk_count(upload.size, upload.chunk_size)
    missing = [i for i in range(count) if i not in stored]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        raise MissingChunks(
            f"{len(missing)} of {count} chunks are missing: {shown}", missing=missing
        )
    wrong = [
        i
        for i, size in stored.items()
        if i >= count or size != min(upload.chunk_size, upload.size - i * upload.chunk_size)
    ]
    if wrong:
        raise Conflict(
            f"chunks {wrong[:20]} do not fit a file of {upload.size} bytes in chunks of "
            f"{upload.chunk_size}",
            extra={"wrong": wrong[:10_000]},
        )
