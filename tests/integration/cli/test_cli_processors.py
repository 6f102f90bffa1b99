"""`lfp processors`: short by default, every param's type, default and example with
--verbose, the API's list with --json."""

from __future__ import annotations

import json

from tests.helpers import Server
from tests.integration.cli.conftest import Cli, user_api


def _section(output: str, processor: str) -> str:
    """The lines `lfp processors` prints for one processor (its header up to the next one)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{processor}  "))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return "\n".join(lines[start:end])


def test_verbose_shows_each_params_type_default_and_example(cli: Cli) -> None:
    result = cli.run("processors", "--verbose")
    assert result.returncode == 0, result.stderr

    aggregate = _section(result.stdout, "csv-aggregate")
    assert "aggregates: list of objects (at least 1) (required)" in aggregate
    assert "- function: one of: sum, count, min, max, mean (required)" in aggregate
    assert (
        """example: --param 'aggregates=[{"column": "amount", "function": "sum"}]'""" in aggregate
    )
    assert 'delimiter: text, exactly 1 character (default ",")' in aggregate
    assert "group_by: list of text (optional)" in aggregate
    assert 'on_bad_row: one of: fail, skip (default "fail")' in _section(result.stdout, "titles")
    forward = _section(result.stdout, "forward")
    assert "max_attempts: integer from 1 to 20 (default 5)" in forward
    assert "example: --param max_attempts=3" in forward
    assert "(no params)" in _section(result.stdout, "song-plays")


def test_plain_listing_stays_one_line_per_param(cli: Cli) -> None:
    plain = cli.run("processors")
    verbose = cli.run("processors", "-v")
    assert plain.returncode == 0, plain.stderr

    aggregate = _section(plain.stdout, "csv-aggregate")
    assert len(aggregate.splitlines()) == 1 + 4  # the header and the four params
    assert "--param aggregates=…" in aggregate and "(required)" in aggregate
    assert "example:" not in plain.stdout and "one of:" not in plain.stdout
    assert len(verbose.stdout.splitlines()) > len(plain.stdout.splitlines())


def test_json_prints_the_apis_list(cli: Cli, server: Server) -> None:
    result = cli.run("processors", "--json")
    assert result.returncode == 0, result.stderr

    with user_api(server, cli) as api:
        assert json.loads(result.stdout) == api.get("/processors").json()
