"""How the CLI shows things: tables (TSV when piped), a job, processors, sizes, progress bars."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lfp.cli.common import err, out
from lfp.cli.params_help import params_help, verbose_lines
from lfp.cli.transfer import SpeedOrStatus

Row = tuple[str, ...]
# A header, and how many characters of each cell a terminal shows (None: all of it).
Column = tuple[str, int | None]

# A terminal shows ids short, as git does commits (any unique start of one is accepted).
_SHORT_ID = 8
_FILE_COLUMNS: tuple[Column, ...] = (
    ("id", _SHORT_ID),
    ("name", None),
    ("size", None),
    ("state", None),
    ("sha256", 12),
    ("created", 19),
)
_JOB_COLUMNS: tuple[Column, ...] = (
    ("id", _SHORT_ID),
    ("processor", None),
    ("state", None),
    ("progress", None),
    ("took", None),
    ("queued", 19),
)


def _print_page(
    result: dict[str, Any], noun: str, columns: Sequence[Column], rows: Sequence[Row]
) -> None:
    """A page of a listing: a table and a footer counting `noun`s on a terminal; piped, the
    column names then one line per row, tab-separated and whole, for scripts."""
    if not out.is_terminal:
        typer.echo("\t".join(header for header, _ in columns))
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table(*(header for header, _ in columns))
    for row in rows:
        table.add_row(*(v if w is None else v[:w] for v, (_, w) in zip(row, columns, strict=True)))
    table.columns[0].no_wrap = True
    out.print(table)
    out.print(f"page {result['page']}: {len(rows)} of {result['total']} {noun}")


def _print_files(result: dict[str, Any]) -> None:
    """A page of `GET /files`."""
    rows = [
        (f["id"], f["filename"], _human(f["size"]), f["state"], f["sha256"] or "", f["created_at"])
        for f in result["items"]
    ]
    _print_page(result, "files", _FILE_COLUMNS, rows)


def _print_jobs(result: dict[str, Any]) -> None:
    """A page of `GET /jobs`."""
    rows = [
        (
            j["id"],
            j["processor"],
            j["state"],
            f"{j['progress'] * 100:.0f}%",
            _seconds(j["processing_seconds"]),
            j["queued_at"],
        )
        for j in result["items"]
    ]
    _print_page(result, "jobs", _JOB_COLUMNS, rows)


def _print_catalog(result: dict[str, Any], name: str, columns: Row) -> None:
    """A page of the catalogue `name`, showing `columns` of each item (40 characters wide)."""
    rows = [
        tuple("" if item.get(c) is None else str(item[c]) for c in columns)
        for item in result["items"]
    ]
    _print_page(result, name, [(c, 40) for c in columns], rows)


def _print_job(found: dict[str, Any]) -> None:
    """A job in a few lines: state, params, progress, timings, error, outputs and result."""
    out.print(f"job {found['id']}  {found['processor']}  [bold]{found['state']}[/bold]")
    out.print(f"  file {found['file_id']}  params {json.dumps(found['params'])}")
    unit = found.get("progress_unit") or ""
    done = found.get("progress_done")
    counted = f" ({done} of {found.get('progress_total')} {unit})" if done is not None else ""
    out.print(f"  progress {found['progress'] * 100:.0f}%{counted}  attempts {found['attempts']}")
    out.print(
        f"  queued {found['queued_at'][:19]}  upload took {_seconds(found['upload_seconds'])}"
        f"  processing took {_seconds(found['processing_seconds'])}"
    )
    if found.get("error"):
        err.print(f"  [red]error:[/red] {found['error']}")
    for output in found.get("outputs", []):
        out.print(f"  output {output['name']}  {_human(output['size'])}")
    if found.get("result") is not None:
        out.print(f"  result {json.dumps(found['result'])}")
    if found["outputs"]:
        out.print(f"  download with `lfp results {found['id']}`")


def _print_processors(found: list[dict[str, Any]], verbose: bool = False) -> None:
    """Each processor with its description, then one `--param` line per param.

    `verbose` shows each param's type, default and an example instead (see params_help).
    """
    for processor in found:
        out.print(f"[bold]{escape(processor['name'])}[/bold]  {escape(processor['description'])}")
        schema = processor["params_schema"]
        if verbose:
            for line in verbose_lines(schema):
                out.print(line, markup=False, highlight=False)
            continue
        for param in params_help(schema):
            text = f"    --param {param.name}=…  {param.description} ({param.default_text})"
            out.print(escape(text))


def _progress() -> Progress:
    """A transfer bar on stderr: bytes, then speed and time left, or a task's `status`
    in their place (see `lfp.cli.transfer.TransferLine`)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        SpeedOrStatus(),
        console=err,
    )


def _job_progress() -> Progress:
    """A job's bar on stderr: its fraction done, state and time so far."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=err,
    )


def _seconds(value: float | None) -> str:
    """A duration as `1.23 s`, or `-` when not known."""
    return "-" if value is None else f"{value:.2f} s"


def _human(size: int) -> str:
    """A byte count in binary units, e.g. `12.5 MiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
