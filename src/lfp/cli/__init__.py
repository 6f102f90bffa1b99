"""The `lfp` command: run the server and workers, sign in, upload, download, run jobs.

Here the Typer app is assembled and the options every command shares are read; the
commands live in one module per group (`server`, `account`, `files`, `delete`, `jobs`,
`catalog`, `users`)
and what they print in `render`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from lfp.cli import account, catalog, delete, files, jobs, server, users
from lfp.cli.common import DEFAULT_URL, ClientConfig
from lfp.cli.files import parse_size
from lfp.client.state import Credentials, default_config_dir

__all__ = ["app", "main", "parse_size"]

app = typer.Typer(
    help="lfp: move very large files into a system, verified.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users.app, name="users")

# In the order `lfp --help` lists them.
_COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("serve", server.serve),
    ("worker", server.worker),
    ("signup", account.signup),
    ("login", account.login),
    ("logout", account.logout),
    ("password", account.password),
    ("upload", files.upload),
    ("download", files.download),
    ("files", files.list_files),
    ("delete", delete.delete),
    ("processors", jobs.processors),
    ("jobs", jobs.list_jobs),
    ("job", jobs.job),
    ("cancel", jobs.cancel),
    ("results", jobs.results),
    ("process", jobs.process),
    ("titles", catalog.titles),
    ("products", catalog.products),
)
for _name, _command in _COMMANDS:
    app.command(_name)(_command)
db_app.command("upgrade")(server.db_upgrade)


@app.callback()
def _configure(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(envvar="LFP_URL", help="Server URL [default: saved or local]")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="LFP_TOKEN", help="Bearer token [default: saved]")
    ] = None,
    config_dir: Annotated[
        Path | None, typer.Option(envvar="LFP_CONFIG_DIR", help="Folder for login and resume")
    ] = None,
) -> None:
    """Read the connection options every command shares into `ctx.obj`."""
    folder = config_dir or default_config_dir()
    saved = Credentials(folder).load()
    ctx.obj = ClientConfig(
        url=url or saved.get("url") or DEFAULT_URL,
        token=token or saved.get("token"),
        config_dir=folder,
        refresh_token=None if token else saved.get("refresh_token"),
    )


def main() -> None:
    """Console entry point."""
    app()
