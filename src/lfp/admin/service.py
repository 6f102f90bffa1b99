"""Managing accounts as an operator: the `lfp users` commands and the /admin/users API.

Disabling an account revokes its sessions and refuses its tokens from the next request on;
deleting one removes its uploads, files, jobs and every byte they hold in the store.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Final

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lfp.auth.models import User
from lfp.auth.passwords import password_problem
from lfp.auth.service import UserService
from lfp.auth.sessions import SessionService
from lfp.config import Settings
from lfp.db.base import utcnow
from lfp.db.engine import Database
from lfp.db.paging import page_of
from lfp.errors import NotFound, Unprocessable
from lfp.files.blobs import referenced
from lfp.files.models import StoredFile
from lfp.jobs.models import Job, JobOutput
from lfp.storage import BlobStore
from lfp.uploads.models import Upload
from lfp.uploads.quota import Limits, Usage, limits_of, usage

log = logging.getLogger(__name__)

ROLES: Final = ("user", "admin")
_EMAIL: Final = TypeAdapter(EmailStr)


class _Unchanged:
    """The marker of a limit a call leaves as it is (None means: back to the default)."""


UNCHANGED: Final = _Unchanged()


@dataclass(frozen=True)
class Account:
    """A user as an operator sees them: the row, what they hold, and their limits."""

    user: User
    usage: Usage
    limits: Limits
    files: int


class AdminService:
    """Lists, creates, disables, enables, deletes accounts and sets their limits."""

    def __init__(self, db: Database, store: BlobStore, settings: Settings) -> None:
        self._db = db
        self._store = store
        self._settings = settings

    def list_accounts(
        self, *, page: int, per_page: int, email: str = ""
    ) -> tuple[list[Account], int]:
        """One page of the accounts, oldest first; those whose email holds `email`, if given."""
        query = select(User).order_by(User.created_at, User.id)
        if email:
            query = query.where(User.email.contains(email.strip().lower(), autoescape=True))
        with self._db.read() as session:
            users, total = page_of(session, query, page=page, per_page=per_page)
            return [self._account(session, user) for user in users], total

    def find(self, reference: str) -> Account:
        """The account with this id or email (`NotFound` when there is none)."""
        with self._db.read() as session:
            return self._account(session, _find(session, reference))

    def create(self, email: str, password: str, *, role: str = "user") -> Account:
        """A new account (`Conflict` when the email is taken; `Unprocessable` for an
        invalid email or a weak password)."""
        problem = password_problem(password)
        if problem:
            raise Unprocessable(problem)
        try:
            email = _EMAIL.validate_python(email)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("value is not a valid email address: ")
            raise Unprocessable(f"{email!r} is not an email address: {reason}") from None
        user = UserService(self._db).signup(email, password, role=_checked_role(role))
        return self.find(str(user.id))

    def change(
        self,
        user_id: uuid.UUID,
        *,
        disabled: bool | _Unchanged = UNCHANGED,
        role: str | _Unchanged = UNCHANGED,
        quota_bytes: int | _Unchanged | None = UNCHANGED,
        max_open_uploads: int | _Unchanged | None = UNCHANGED,
    ) -> Account:
        """Change what is given, in one transaction: disable the account (its sessions end
        at once) or enable it, its role, its quota and open-upload cap (0: unlimited; None:
        back to the `LFP_USER_*` default)."""
        with self._db.write() as session:
            user = _get(session, user_id, lock=True)
            if not isinstance(role, _Unchanged):
                user.role = _checked_role(role)
            if not isinstance(quota_bytes, _Unchanged):
                user.quota_bytes = _non_negative(quota_bytes, "quota_bytes")
            if not isinstance(max_open_uploads, _Unchanged):
                user.max_open_uploads = _non_negative(max_open_uploads, "max_open_uploads")
            if disabled is True and user.disabled_at is None:
                user.disabled_at = utcnow()
                SessionService.revoke_all_in(session, user.id, "disabled")
            elif disabled is False:
                user.disabled_at = None
            return self._account(session, user)

    def delete(self, user_id: uuid.UUID) -> None:
        """Remove the account with its sessions, uploads, files, jobs and their bytes."""
        with self._db.write() as session:
            user = _get(session, user_id, lock=True)
            keys = _blob_keys(session, user.id)
            # The database removes the rest with the user (a running job then finds its
            # claim gone and publishes nothing).
            session.delete(user)
            session.flush()
            # Only the user's own rows share their blobs (`lfp.uploads.dedup`), so none
            # should be left; a blob some remaining file still names is kept all the same.
            kept = referenced(session, keys)
            keys = [key for key in keys if key not in kept]
        for key in keys:
            try:
                self._store.delete(key)
            except Exception:  # the account is gone; a blob left over is only space
                log.warning("could not delete blob %s of deleted user %s", key, user_id)
        log.info("deleted user %s and %d blobs", user_id, len(keys))

    def _account(self, session: Session, user: User) -> Account:
        files = session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.owner_id == user.id)
        )
        return Account(
            user=user,
            usage=usage(session, user.id),
            limits=limits_of(user, self._settings),
            files=int(files or 0),
        )


def _find(session: Session, reference: str) -> User:
    reference = reference.strip()
    try:
        user = session.get(User, uuid.UUID(reference))
    except ValueError:
        user = session.scalar(select(User).where(User.email == reference.lower()))
    if user is None:
        raise NotFound(f"no user {reference}")
    return user


def _get(session: Session, user_id: uuid.UUID, *, lock: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=lock)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise Unprocessable(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _non_negative(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise Unprocessable(f"{name} must be 0 (unlimited) or more, not {value}")
    return value


def _blob_keys(session: Session, user_id: uuid.UUID) -> list[str]:
    """Every store key the user's files, uploads and job outputs hold."""
    files = session.execute(
        select(StoredFile.storage_key, StoredFile.staging_key).where(StoredFile.owner_id == user_id)
    ).all()
    staging = session.scalars(select(Upload.staging_key).where(Upload.owner_id == user_id)).all()
    outputs = session.scalars(
        select(JobOutput.storage_key)
        .join(Job, Job.id == JobOutput.job_id)
        .where(Job.owner_id == user_id)
    ).all()
    keys = [key for row in files for key in row if key] + [*staging, *outputs]
    return list(dict.fromkeys(key for key in keys if key))
