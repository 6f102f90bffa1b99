"""What every command group shares: where to connect, the consoles, failing and settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from lfp.client import LfpClient, LfpError, LfpNetworkError
from lfp.client.errors import DestinationExists
from lfp.client.state import Credentials

if TYPE_CHECKING:
    # Only for annotations: the client commands never load the server's settings.
    from lfp.config import Settings

err = Console(stderr=True)
out = Console(soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8000"

# The `--json` flag of every command that prints a listing or a result.
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape) for scripts")]


def print_json(value: Any) -> None:
    """`value` as indented JSON on stdout, for `--json`."""
    typer.echo(json.dumps(value, indent=2))


@dataclass
class ClientConfig:
    """Where the CLI talks to and as whom: options and LFP_* variables over saved login."""

    url: str
    token: str | None
    config_dir: Path
    # The saved login's refresh token; None when the token came from --token/LFP_TOKEN.
    refresh_token: str | None = None

    def client(self) -> LfpClient:
        """A client for the configured server and token, refreshing a saved login's."""
        if self.refresh_token is None:
            return LfpClient(self.url, self.token)
        store = Credentials(self.config_dir)
        return LfpClient(self.url, self.token, refresh_token=self.refresh_token, token_store=store)


def _config(ctx: typer.Context) -> ClientConfig:
    """The connection the app's callback stored on the context."""
    config: ClientConfig = ctx.obj
    return config


def _signed_in(config: ClientConfig) -> LfpClient:
    """A client with a token, or the reason there is none and exit 1."""
    if not config.token:
        _fail("not signed in: run `lfp login` (or set LFP_TOKEN)")
    return config.client()


def _settings() -> Settings:
    """The server's settings from LFP_* variables and .env; a clear error when invalid."""
    from pydantic import ValidationError

    from lfp.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LFP_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}")


@contextmanager
def _errors() -> Iterator[None]:
    """Turn client failures into a one-line reason and a non-zero exit."""
    try:
        yield
    except LfpError as exc:
        if exc.status == 401:
            _fail(f"{exc.detail} (run `lfp login`)")
        _fail(exc.detail if exc.status == 0 else f"{exc.detail} (HTTP {exc.status})")
    except LfpNetworkError as exc:
        if exc.reached or not exc.url:
            _fail(str(exc))
        _fail(
            f"cannot reach the lfp server at {_redacted(exc.url)} ({exc.reason}). "
            "Is it running (lfp serve)? Point to another with --url or LFP_URL."
        )
    except DestinationExists as exc:
        _fail(f"{exc.filename} already exists: pass --force to overwrite it")
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    except KeyboardInterrupt:
        typer.echo("interrupted: run the same command again to resume", err=True)
        raise typer.Exit(130) from None


def _fail(message: str) -> NoReturn:
    """Print `lfp: error: message` on stderr and exit 1."""
    typer.echo(f"lfp: error: {message}", err=True)
    raise typer.Exit(1)


def _redacted(url: str) -> str:
    """`url` with its password masked, fit to print."""
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)
