"""`lfp delete`: remove stored files with their jobs and outputs, asking first on a terminal."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from lfp.cli import ids
from lfp.cli.common import AsJson, _config, _errors, _fail, _signed_in, print_json
from lfp.cli.render import _human
from lfp.client import LfpClient, LfpError

# How many names the question lists before it only counts the rest.
_NAMED = 5


def delete(
    ctx: typer.Context,
    file_ids: Annotated[list[str], typer.Argument(help="The files' ids, or unique starts of them")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
    as_json: AsJson = False,
) -> None:
    """Delete files, with their jobs and the jobs' outputs.

    Asks first when stdin is a terminal; otherwise it needs --yes. An id that matches no
    file, or several, is reported and the other files are still deleted; the exit status
    is then 1. With --json: `{"deleted": [<each file as it was>], "failed": [{"id": <as
    given>, "error": <why>}]}`.
    """
    if not yes and not sys.stdin.isatty():
        _fail("stdin is not a terminal, so there is no one to ask: pass --yes to delete")
    client = _signed_in(_config(ctx))
    failed: list[dict[str, str]] = []
    with _errors():
        found = _find(client, file_ids, failed)
        if found and not yes and not typer.confirm(_question(found), default=False, err=True):
            _fail("nothing deleted")
        deleted = [file for file in found if _delete_one(client, file, failed)]
    if as_json:
        print_json({"deleted": deleted, "failed": failed})
    else:
        for file in deleted:
            # Plain echo: a file's name is never read as rich markup.
            typer.echo(f"deleted {file['id']}  {file['filename']}  {_human(file['size'])}")
    if failed:
        raise typer.Exit(1)


def _find(client: LfpClient, texts: list[str], failed: list[dict[str, str]]) -> list[Any]:
    """The files `texts` name, each once, in order; those not found go to `failed`."""
    found: dict[str, Any] = {}
    for text in texts:
        try:
            file = ids.file(client, text)
        except LfpError as exc:
            _report(text, exc.detail, failed)
            continue
        found.setdefault(file["id"], file)
    return list(found.values())


def _delete_one(client: LfpClient, file: dict[str, Any], failed: list[dict[str, str]]) -> bool:
    """Delete `file`; whether it went (a refusal, e.g. deleted meanwhile, goes to `failed`)."""
    try:
        client.delete_file(file["id"])
    except LfpError as exc:
        _report(file["id"], exc.detail, failed)
        return False
    return True


def _report(text: str, detail: str, failed: list[dict[str, str]]) -> None:
    """Say on stderr why `text` is not deleted, and remember it for --json."""
    typer.echo(f"lfp: error: {detail}", err=True)
    failed.append({"id": text, "error": detail})


def _question(files: list[Any]) -> str:
    """`Delete N file(s) (names)…?`, naming the first few."""
    names = [f"{f['filename']} ({_human(f['size'])})" for f in files[:_NAMED]]
    if len(files) > _NAMED:
        names.append(f"and {len(files) - _NAMED} more")
    return f"Delete {len(files)} file(s): {', '.join(names)}, with their jobs and outputs?"
