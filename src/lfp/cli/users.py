"""The operator's commands, `lfp users …`: accounts managed straight in the database.

They read the server's settings (LFP_DATABASE_URL, LFP_DATA_DIR, LFP_STORAGE_URL), so they
run where the server runs, need no account and work before anyone has signed up: the way
to make the first administrator. Accounts are named by email or id.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lfp.cli.common import _fail, _settings, out
from lfp.cli.files import parse_size
from lfp.cli.render import _human, _print_page

if TYPE_CHECKING:
    from lfp.admin.service import Account, AdminService

app = typer.Typer(
    help="Manage accounts in the server's database (run where the server runs).",
    no_args_is_help=True,
)

Who = Annotated[str, typer.Argument(help="The account's email or id")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON, as the admin API answers")]
_COLUMNS = (
    ("id", None),
    ("email", None),
    ("role", None),
    ("state", None),
    ("files", None),
    ("used", None),
    ("quota", None),
    ("uploads", None),
)


@contextmanager
def _admin() -> Iterator[AdminService]:
    """The accounts of the configured database (migrated first); domain errors as exit 1."""
    from lfp.bootstrap import build_admin
    from lfp.db.migrate import upgrade
    from lfp.errors import LfpError

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.resolved_database_url)
        yield build_admin(settings)
    except LfpError as exc:
        _fail(exc.detail)


def _body(account: Account) -> dict[str, Any]:
    from lfp.admin.schemas import AccountOut

    return AccountOut.of(account).model_dump(mode="json")


def _show(account: Account, as_json: bool, done: str) -> None:
    """The account as JSON, or the line saying what was `done` and its summary."""
    body = _body(account)
    if as_json:
        typer.echo(json.dumps(body))
        return
    out.print(f"{done}: {body['email']} ({body['id']})  {_summary(body)}")


def _summary(body: dict[str, Any]) -> str:
    state = "disabled" if body["disabled"] else "enabled"
    return f"{body['role']}, {state}, uses {_used(body)}, {body['open_uploads']} open uploads"


def _used(body: dict[str, Any]) -> str:
    quota = _human(body["quota_bytes"]) if body["quota_bytes"] else "unlimited"
    return f"{_human(body['used_bytes'])} of {quota}"


def list_users(
    email: Annotated[str, typer.Option(help="Only emails containing this")] = "",
    page: Annotated[int, typer.Option(min=1, help="Page number")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=1000, help="Accounts per page")] = 50,
    as_json: Json = False,
) -> None:
    """List the accounts, oldest first, with what each holds and may hold."""
    with _admin() as admin:
        found, total = admin.list_accounts(page=page, per_page=per_page, email=email)
    items = [_body(account) for account in found]
    result: dict[str, Any] = {"items": items, "page": page, "per_page": per_page, "total": total}
    if as_json:
        typer.echo(json.dumps(result))
        return
    rows = [
        (
            a["id"],
            a["email"],
            a["role"],
            "disabled" if a["disabled"] else "enabled",
            str(a["files"]),
            _human(a["used_bytes"]),
            _human(a["quota_bytes"]) if a["quota_bytes"] else "unlimited",
            f"{a['open_uploads']} of {a['max_open_uploads'] or 'unlimited'}",
        )
        for a in result["items"]
    ]
    _print_page(result, "accounts", _COLUMNS, rows)


def create(
    email: Annotated[str, typer.Argument(help="The new account's email")],
    password: Annotated[str | None, typer.Option(help="Its password (asked when omitted)")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make it an administrator")] = False,
    as_json: Json = False,
) -> None:
    """Create an account (an administrator with --admin)."""
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            _fail("the passwords differ")
    with _admin() as service:
        account = service.create(email, password, role="admin" if admin else "user")
    _show(account, as_json, "created")


def _change(who: str, as_json: bool, done: str, **changes: Any) -> None:
    with _admin() as admin:
        account = admin.change(admin.find(who).user.id, **changes)
    _show(account, as_json, done)


def disable(who: Who, as_json: Json = False) -> None:
    """Disable an account: it cannot sign in and its sessions end at once."""
    _change(who, as_json, "disabled", disabled=True)


def enable(who: Who, as_json: Json = False) -> None:
    """Enable a disabled account again (its owner signs in anew)."""
    _change(who, as_json, "enabled", disabled=False)


def set_role(
    who: Who,
    role: Annotated[str, typer.Argument(help="admin or user")],
    as_json: Json = False,
) -> None:
    """Make an account an administrator (`admin`) or a plain `user`."""
    _change(who, as_json, "role set", role=role)


def _limit(text: str | None, read: Callable[[str], int]) -> Any:
    """A limit option: unchanged when absent, None for `default`, 0 for `unlimited`."""
    from lfp.admin.service import UNCHANGED

    if text is None:
        return UNCHANGED
    word = text.strip().lower()
    return (
        {"default": None, "unlimited": 0}.get(word)
        if word in ("default", "unlimited")
        else read(text)
    )


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise typer.BadParameter(f"cannot read {text!r} as a number of uploads")
    return int(text)


def set_quota(
    who: Who,
    size: Annotated[
        str | None,
        typer.Option("--bytes", help="Quota, e.g. 50GiB; `unlimited`, or `default`"),
    ] = None,
    uploads: Annotated[
        str | None,
        typer.Option(help="Most uploads open at once; `unlimited`, or `default`"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Set an account's storage quota and open-upload cap (`default`: LFP_USER_* settings)."""
    if size is None and uploads is None:
        _fail("say what to set: --bytes SIZE and/or --uploads N")
    limits = {"quota_bytes": _limit(size, parse_size), "max_open_uploads": _limit(uploads, _count)}
    _change(who, as_json, "limits set", **limits)


def delete(
    who: Who,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete an account with its uploads, files, jobs and all their bytes."""
    with _admin() as admin:
        account = admin.find(who)
        body = _body(account)
        if not yes:
            typer.confirm(
                f"delete {body['email']} with {body['files']} files "
                f"({_human(body['used_bytes'])})?",
                abort=True,
            )
        admin.delete(account.user.id)
    out.print(f"deleted {body['email']} ({body['id']})")


_COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("list", list_users),
    ("create", create),
    ("disable", disable),
    ("enable", enable),
    ("delete", delete),
    ("set-quota", set_quota),
    ("set-role", set_role),
)
for _name, _command in _COMMANDS:
    app.command(_name)(_command)
