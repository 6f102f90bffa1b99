"""Per-user quotas: the bytes a user may hold, and how many uploads they may keep open.

A user holds the bytes of their files plus what their open uploads reserve: an upload of
declared size reserves that size; one whose size is not declared yet reserves what it has
received (its offset, or its chunks, a chunk being written counting as its full bound).
A file counts its whole size even when it shares its stored bytes with another file of the
owner's (an upload of bytes they had already, `lfp.uploads.dedup`): what a user may hold
does not depend on how the server stores it.
Every check runs inside the caller's write transaction after locking the user's row, so
parallel requests of one user are counted one after the other (SQLite serialises write
transactions anyway; PostgreSQL takes `SELECT … FOR UPDATE` on the user).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lfp.auth.models import User
from lfp.config import Settings
from lfp.errors import InsufficientStorage, TooLarge
from lfp.files.models import StoredFile
from lfp.uploads.models import Upload, UploadChunk, UploadState

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human(size: int) -> str:
    """`size` bytes in binary units, as a detail shows it: `1.5 GiB`, `512 bytes`."""
    value = float(size)
    shown = f"{size} bytes"
    for unit in _UNITS:
        if value < 1024:
            break
        value /= 1024
        shown = f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    return shown


def _bytes(size: int) -> str:
    return f"{size} bytes ({human(size)})" if size >= 1024 else f"{size} bytes"


@dataclass(frozen=True)
class Usage:
    """What a user holds: bytes in files, bytes reserved by open uploads, uploads open."""

    stored: int
    reserved: int
    open_uploads: int

    @property
    def used(self) -> int:
        """Bytes counted against the quota."""
        return self.stored + self.reserved


def usage(session: Session, owner_id: uuid.UUID, *, without: Collection[str] = ()) -> Usage:
    """What `owner_id` holds now, leaving out the open uploads named in `without`."""
    stored = session.scalar(
        select(func.coalesce(func.sum(StoredFile.size), 0)).where(StoredFile.owner_id == owner_id)
    )
    query = (
        select(Upload.id, Upload.size, Upload.offset)
        .where(Upload.owner_id == owner_id)
        .where(Upload.state == UploadState.open)
    )
    rows = [row for row in session.execute(query).all() if str(row.id) not in without]
    reserved = sum(row.size for row in rows if row.size is not None)
    reserved += sum(row.offset for row in rows if row.size is None and row.offset is not None)
    chunked = [row.id for row in rows if row.size is None and row.offset is None]
    if chunked:
        reserved += session.scalar(
            select(func.coalesce(func.sum(UploadChunk.size), 0)).where(
                UploadChunk.upload_id.in_(chunked)
            )
        )
    return Usage(int(stored or 0), int(reserved), len(rows))


@dataclass(frozen=True)
class Limits:
    """One user's quota and open-upload cap (0: unlimited), and where each comes from."""

    quota_bytes: int
    max_open_uploads: int
    quota_source: str
    uploads_source: str


_OPERATOR = "set for your account by an operator"


def limits_of(user: User | None, settings: Settings) -> Limits:
    """`user`'s limits: an operator's override where set, else the `LFP_USER_*` settings."""
    quota = user.quota_bytes if user and user.quota_bytes is not None else None
    most = user.max_open_uploads if user and user.max_open_uploads is not None else None
    return Limits(
        quota_bytes=settings.user_quota_bytes if quota is None else quota,
        max_open_uploads=settings.user_max_open_uploads if most is None else most,
        quota_source="LFP_USER_QUOTA_BYTES" if quota is None else _OPERATOR,
        uploads_source="LFP_USER_MAX_OPEN_UPLOADS" if most is None else _OPERATOR,
    )


def lock_user(session: Session, owner_id: uuid.UUID, settings: Settings) -> Limits:
    """Lock the user's row until the transaction ends (their quota checks queue up); their
    limits."""
    return limits_of(session.get(User, owner_id, with_for_update=True), settings)


def _refusal(limits: Limits, held: Usage, wanted: int | None, what: str) -> InsufficientStorage:
    quota = limits.quota_bytes
    room = max(0, quota - held.used)
    needs = f"needs {_bytes(wanted)}" if wanted is not None else "does not fit"
    return InsufficientStorage(
        f"{what} {needs}: only {_bytes(room)} of your quota are left; "
        f"you use {_bytes(held.used)} ({_bytes(held.stored)} in files, "
        f"{_bytes(held.reserved)} reserved by open uploads) of the {_bytes(quota)} allowed "
        f"({limits.quota_source}); delete files or abort uploads to make room",
        extra={"quota_bytes": quota, "used_bytes": held.used, "available_bytes": room},
    )


def check_new_upload(
    session: Session,
    settings: Settings,
    owner_id: uuid.UUID,
    size: int | None,
    *,
    freeing: Collection[str] = (),
) -> None:
    """Refuse a new upload of `size` bytes (None: not declared) the user has no room for.

    `freeing` names open uploads the new one takes the place of (a tus final upload's
    partial uploads): they are left out of the count.
    """
    limits = lock_user(session, owner_id, settings)
    most = limits.max_open_uploads
    if not most and not limits.quota_bytes:
        return
    held = usage(session, owner_id, without=freeing)
    if most and held.open_uploads >= most:
        raise InsufficientStorage(
            f"you have {held.open_uploads} open uploads, the most allowed "
            f"({most}, {limits.uploads_source}); complete or abort one first",
            extra={"open_uploads": held.open_uploads, "max_open_uploads": most},
        )
    check_room(limits, held, size or 0, "this upload")


def check_room(limits: Limits, held: Usage, wanted: int, what: str) -> None:
    """Refuse `wanted` more bytes beyond `held`: 413 if they alone exceed the quota."""
    quota = limits.quota_bytes
    if not quota or held.used + wanted <= quota:
        return
    if wanted > quota:
        raise TooLarge(
            f"{what} needs {_bytes(wanted)}, more than your whole quota of {_bytes(quota)} "
            f"({limits.quota_source})",
            extra={"quota_bytes": quota, "used_bytes": held.used},
        )
    raise _refusal(limits, held, wanted, what)


@dataclass(frozen=True)
class Room:
    """The most bytes a body of undeclared length may bring, and the 507 past them."""

    size: int
    refusal: InsufficientStorage


def stream_room(
    session: Session, settings: Settings, upload: Upload, own: int, length: int | None
) -> Room | None:
    """Room under the owner's quota for the next body of `upload`, which has `own` bytes.

    None when there is no quota; the refusal at once when there is no room, or when the
    body's declared `length` does not fit. Locks the owner's row.
    """
    limits = lock_user(session, upload.owner_id, settings)
    if not limits.quota_bytes:
        return None
    other = usage(session, upload.owner_id, without={str(upload.id)})
    held = Usage(other.stored, other.reserved + own, other.open_uploads)
    room = limits.quota_bytes - held.used
    refusal = _refusal(limits, held, length, "this upload's next body")
    if room <= 0 or (length is not None and length > room):
        raise refusal
    return Room(room, refusal)


def check_declared(session: Session, settings: Settings, upload: Upload) -> None:
    """Refuse the size just declared for an upload of deferred length past the quota."""
    if upload.size is None:
        return
    limits = lock_user(session, upload.owner_id, settings)
    held = usage(session, upload.owner_id, without={str(upload.id)})
    check_room(limits, held, upload.size, "the upload's declared length")
