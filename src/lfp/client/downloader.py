"""Downloads to disk: stored files (resumable through Range, verified by sha256) and job
outputs."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from lfp.client.calls import ServerCalls
from lfp.client.errors import DestinationExists, LfpError, LfpNetworkError, network_reason
from lfp.client.hashing import file_sha256

BLOCK = 1 << 20


def download(
    client: ServerCalls,
    file_id: str,
    dest: Path | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = True,
) -> Path:
    """Fetch `file_id` into `dest` (default: its own name in the current folder).

    Bytes land in `<dest>.part` first; an interrupted download continues from there with
    `Range` and `If-Range`, and only a copy whose sha256 matches the server's is renamed
    to `dest`. Without `overwrite`, an existing `dest` is `DestinationExists` (before any
    byte is fetched; a `.part` copy does not count).
    """
    meta = client.get_file(file_id)
    if meta["state"] != "ready":
        reason = f": {meta['error']}" if meta.get("error") else ""
        raise LfpError(409, f"file is {meta['state']}{reason}")
    dest = dest or Path(Path(meta["filename"]).name)
    if dest.is_dir():
        dest = dest / Path(meta["filename"]).name
    if not overwrite:
        refuse_existing([dest])
    partial = dest.with_name(dest.name + ".part")
    url = f"/api/v1/files/{file_id}/content"
    _fetch(client, url, partial, int(meta["size"]), f'"{meta["sha256"]}"', progress)
    if file_sha256(partial) != meta["sha256"]:
        partial.unlink()
        raise LfpError(0, "the downloaded bytes do not match the file's sha256; run it again")
    os.replace(partial, dest)
    return dest


def refuse_existing(paths: list[Path]) -> None:
    """`DestinationExists` for the first of `paths` that exists (a folder too)."""
    for path in paths:
        if path.exists():
            raise DestinationExists(errno.EEXIST, "already exists", str(path))


def output_path(output: dict[str, Any], folder: Path) -> Path:
    """Where `download_output` writes a job output: in `folder`, by its own name."""
    return folder / Path(output["name"]).name


def download_output(
    client: ServerCalls,
    output: dict[str, Any],
    folder: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Fetch one job output (as listed in the job's `outputs`) into `folder`, by its name."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = output_path(output, folder)
    partial = dest.with_name(dest.name + ".part")
    _fetch(client, output["url"], partial, int(output["size"]), None, progress)
    os.replace(partial, dest)
    return dest


def _fetch(
    client: ServerCalls,
    url: str,
    partial: Path,
    size: int,
    etag: str | None,
    progress: Callable[[int], None] | None,
) -> None:
    """Fill `partial` with the `size` bytes at `url`, continuing what it holds, with retries."""
    have = partial.stat().st_size if partial.exists() else 0
    if have > size or (have and etag is None):
        partial.unlink()  # without an ETag a partial copy cannot be trusted to continue
        have = 0
    if progress and have:
        progress(have)
    refreshed = False
    for attempt in range(client.retry.attempts):
        if have == size:
            break
        sent = client.token
        try:
            have = _fetch_from(client, url, partial, have, etag, progress)
        except (httpx.TransportError, _ServerError) as exc:
            reason = network_reason(exc)
            if attempt == client.retry.attempts - 1:
                message = f"download failed ({reason}); run it again to resume"
                raise LfpNetworkError(message, url=client.base_url, reason=reason) from exc
            if client.on_retry:
                client.on_retry(attempt + 1)
            time.sleep(client.retry.delay(attempt))
        except LfpError as exc:  # an expired access token is refreshed once, then retried
            if exc.status != 401 or refreshed or not client.reauthenticate(sent):
                raise
            refreshed = True
        else:
            refreshed = False
            if attempt and client.on_retry:
                client.on_retry(None)  # through again after retries
    if have != size:
        raise LfpNetworkError(f"download stopped at {have} of {size} bytes")
    if size == 0:
        partial.touch()


class _ServerError(Exception):
    """A 5xx answer: worth another try."""


def _fetch_from(
    client: ServerCalls,
    url: str,
    partial: Path,
    have: int,
    etag: str | None,
    progress: Callable[[int], None] | None,
) -> int:
    headers = {"Range": f"bytes={have}-", "If-Range": etag} if have and etag else {}
    with client.http().stream("GET", url, headers=headers) as response:
        if response.status_code >= 500:
            raise _ServerError(f"server answered {response.status_code}")
        if response.status_code not in (200, 206):
            response.read()
            raise LfpError.from_response(response)
        if response.status_code == 200 and have:
            if progress:
                progress(-have)
            have = 0  # the server sent it all again: start over
        with open(partial, "r+b" if have else "wb") as f:
            f.seek(have)
            for block in response.iter_bytes(BLOCK):
                f.write(block)
                have += len(block)
                if progress:
                    progress(len(block))
    return have
