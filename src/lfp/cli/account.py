"""The account commands: `signup` and `login`, which save the token for later commands."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from lfp.cli.common import ClientConfig, _config, _errors, _fail, out
from lfp.client import LfpClient
from lfp.client.state import Credentials

Email = Annotated[str | None, typer.Option(help="Account email")]
Password = Annotated[str | None, typer.Option(help="Password (asked when omitted)")]


def signup(ctx: typer.Context, email: Email = None, password: Password = None) -> None:
    """Create an account and sign in with it."""
    config = _config(ctx)
    email, password = _ask(email, password, confirm=True)
    with _errors():
        client = config.client()
        client.signup(email, password)
        _login(config, client, email, password)


def login(ctx: typer.Context, email: Email = None, password: Password = None) -> None:
    """Sign in and save the token (mode 0600) for later commands."""
    config = _config(ctx)
    email, password = _ask(email, password, confirm=False)
    with _errors():
        _login(config, config.client(), email, password)


def _login(config: ClientConfig, client: LfpClient, email: str, password: str) -> None:
    token = client.login(email, password)
    Credentials(config.config_dir).save(config.url, token, email)
    out.print(f"signed in to {config.url} as {email}")


def _ask(email: str | None, password: str | None, *, confirm: bool) -> tuple[str, str]:
    """The email and password, asking for whichever the options left out."""
    email = email or typer.prompt("Email")
    return email, password or _ask_password(confirm=confirm)


def _ask_password(*, confirm: bool) -> str:
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Repeat password: ") != password:
        _fail("the passwords differ")
    return password
