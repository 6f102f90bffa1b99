"""HTTP routes of the admin API: administrators manage every account under /admin/users."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from lfp.admin.schemas import AccountChange, AccountCreate, AccountOut
from lfp.admin.service import UNCHANGED
from lfp.deps import AppServices, CurrentAdmin
from lfp.errors import Conflict
from lfp.http.pagination import Page, Paging

router = APIRouter(prefix="/admin/users", tags=["admin"])


@router.get("", response_model=Page[AccountOut])
def list_accounts(
    admin: CurrentAdmin,
    services: AppServices,
    paging: Paging,
    email: Annotated[str, Query(max_length=320, description="Part of the email")] = "",
) -> Page[AccountOut]:
    """Every account, oldest first, with what it holds and its limits."""
    found, total = services.admin.list_accounts(
        page=paging.page, per_page=paging.per_page, email=email
    )
    return paging.of([AccountOut.of(account) for account in found], total)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
def create_account(body: AccountCreate, admin: CurrentAdmin, services: AppServices) -> AccountOut:
    """Create an account (of role `user` unless said). 409 when the email is taken."""
    return AccountOut.of(services.admin.create(body.email, body.password, role=body.role))


@router.get("/{user_id}", response_model=AccountOut)
def get_account(user_id: uuid.UUID, admin: CurrentAdmin, services: AppServices) -> AccountOut:
    """One account."""
    return AccountOut.of(services.admin.find(str(user_id)))


@router.patch("/{user_id}", response_model=AccountOut)
def change_account(
    user_id: uuid.UUID, body: AccountChange, admin: CurrentAdmin, services: AppServices
) -> AccountOut:
    """Disable or enable the account, change its role or its limits.

    Disabling ends the account's sessions: its tokens are refused from the next request on.
    409 for disabling or demoting yourself (another administrator, or `lfp users`, can).
    """
    if user_id == admin.id and (body.disabled or body.role == "user"):
        raise Conflict("you cannot disable or demote your own account")
    given = body.model_fields_set
    changes: dict[str, Any] = {
        "disabled": UNCHANGED if body.disabled is None else body.disabled,
        "role": UNCHANGED if body.role is None else body.role,
        # An explicit null puts a limit back to the default; a field left out keeps it.
        "quota_bytes": body.quota_bytes if "quota_bytes" in given else UNCHANGED,
        "max_open_uploads": body.max_open_uploads if "max_open_uploads" in given else UNCHANGED,
    }
    return AccountOut.of(services.admin.change(user_id, **changes))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_account(user_id: uuid.UUID, admin: CurrentAdmin, services: AppServices) -> Response:
    """Delete the account with its uploads, files, jobs and their bytes. 409 for yourself."""
    if user_id == admin.id:
        raise Conflict("you cannot delete your own account")
    services.admin.delete(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
