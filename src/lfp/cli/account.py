"""The account commands: `signup` and `login` (which save the tokens), `logout`, `password`."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from lfp.cli.common import ClientConfig, _config, _errors, _fail, _signed_in, out
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


def logout(ctx: typer.Context) -> None:
    """End the session on the server (its tokens stop working) and forget the saved login."""
    config = _config(ctx)
    with _errors():
        _signed_in(config).logout()
        if config.refresh_token is not None:  # the saved login's session, not LFP_TOKEN's
            Credentials(config.config_dir).forget()
    out.print(f"signed out of {config.url}")


def password(
    ctx: typer.Context,
    current: Annotated[
        str | None, typer.Option(help="Current password (asked when omitted)")
    ] = None,
    new: Annotated[str | None, typer.Option(help="New password (asked when omitted)")] = None,
) -> None:
    """Change the password: every session of the account ends, this one is renewed."""
    config = _config(ctx)
    client = _signed_in(config)
    current = current or getpass.getpass("Current password: ")
    new = new or _ask_password(confirm=True, prompt="New password: ")
    with _errors():
        client.change_password(current, new)
    out.print("password changed; every other session is signed out")


def _login(config: ClientConfig, client: LfpClient, email: str, password: str) -> None:
    """Sign in and save the login (both tokens) in the config folder."""
    token = client.login(email, password)
    Credentials(config.config_dir).save(config.url, token, email, client.refresh_token)
    out.print(f"signed in to {config.url} as {email}")


def _ask(email: str | None, password: str | None, *, confirm: bool) -> tuple[str, str]:
    """The email and password, asking for whichever the options left out."""
    email = email or typer.prompt("Email")
    return email, password or _ask_password(confirm=confirm)


def _ask_password(*, confirm: bool, prompt: str = "Password: ") -> str:
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat password: ") != password:
        _fail("the passwords differ")
    return password
