"""The CLI's transfers as a user sees them, against a real server: a server not there, one
that goes away mid-upload, every step shown, downloads that never overwrite, uploads of
bytes already stored, and `upload --json`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, Server, file_sha256, free_port, random_file, wait_until
from tests.integration.cli.conftest import Cli, user_api

MiB = 1 << 20


@pytest.mark.parametrize("command", ["files", "upload", "download"])
def test_a_server_that_is_not_there_fails_fast_naming_the_url(command: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "LFP_URL": url, "LFP_TOKEN": "t", "LFP_CONFIG_DIR": str(tmp_path)}
    source = random_file(tmp_path / "some.bin", 1 * MiB, seed=3)
    args = {"files": [], "upload": [str(source)], "download": ["0123abcd"]}[command]
    # The bound is for a hang, well under the old 90 s of silent retries, not a speed claim.
    result = subprocess.run(
        [sys.executable, "-m", "lfp.cli", command, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert f"cannot reach the lfp server at {url} (connection refused)" in result.stderr
    assert "--url" in result.stderr and "LFP_URL" in result.stderr
    assert "hashing" not in result.stderr  # said before reading a (maybe huge) file
    assert result.stdout == ""


def test_an_upload_rides_out_a_server_restart_showing_each_step_and_the_retries(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    cli = Cli(server, tmp_path / "config")
    email = f"outage-{uuid.uuid4().hex[:10]}@example.com"
    assert cli.run("signup", "--email", email, "--password", PASSWORD).returncode == 0
    source = random_file(tmp_path / "outage.bin", 300 * MiB, seed=17)
    running = cli.start("upload", str(source), "--chunk-size", "5MiB", "--parallel", "2")
    api = user_api(server, cli)

    wait_until(lambda: cli.upload_with_chunks(api), 60, "the first chunks to arrive")
    api.close()
    server.kill()
    server.start()  # same port and data: the client's patient retries reach it again
    stdout, stderr = running.communicate(timeout=240)
    assert running.returncode == 0, stderr
    assert file_sha256(source) in stdout
    # Piped, each status is a line of its own, in order: hashed, retried, verified.
    hashing = stderr.index("hashing outage.bin")
    retrying = stderr.index("outage.bin: server unreachable, retrying (1)…")
    verifying = stderr.index("outage.bin: verifying…")
    assert hashing < retrying < verifying
    assert "hashing" not in stdout and "verifying" not in stdout


def _upload(cli: Cli, path: Path, *args: str) -> str:
    """Upload `path`; its file id (the first word of the result line)."""
    done = cli.run("upload", str(path), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def _run_in(cli: Cli, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli.command(*args), env=cli.env, cwd=folder, capture_output=True, text=True, timeout=300
    )


def test_download_never_overwrites_without_force(cli: Cli, tmp_path: Path) -> None:
    source = random_file(tmp_path / "keep.bin", 3 * MiB, seed=5)
    file_id = _upload(cli, source)
    here = tmp_path / "here"
    here.mkdir()
    target = here / "keep.bin"
    target.write_bytes(b"my own work")

    for args in (("-o", str(target)), ()):  # a named file, and the default: its name here
        refused = _run_in(cli, here, "download", file_id, *args)
        assert refused.returncode == 1
        assert f"{'keep.bin' if not args else target} already exists" in refused.stderr
        assert "--force" in refused.stderr
        assert target.read_bytes() == b"my own work"

    forced = _run_in(cli, here, "download", file_id, "--force")
    assert forced.returncode == 0, forced.stderr
    assert file_sha256(target) == file_sha256(source)


def test_a_partial_copy_is_continued_not_refused(cli: Cli, tmp_path: Path) -> None:
    source = random_file(tmp_path / "part.bin", 3 * MiB, seed=6)
    file_id = _upload(cli, source)
    target = tmp_path / "out" / "part.bin"
    target.parent.mkdir()
    target.with_name("part.bin.part").write_bytes(source.read_bytes()[: MiB + 7])
    done = cli.run("download", file_id, "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert file_sha256(target) == file_sha256(source)
    assert not target.with_name("part.bin.part").exists()


def test_results_never_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "small.txt"
    source.write_bytes(b"results are kept\n")
    done = cli.run("upload", str(source), "--process", "hash", "--json")
    assert done.returncode == 0, done.stderr
    job_id = json.loads(done.stdout)[0]["job_id"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "checksums.txt").write_text("mine\n")

    refused = cli.run("results", job_id, "-o", str(out))
    assert refused.returncode == 1
    assert f"{out / 'checksums.txt'} already exists" in refused.stderr
    assert "--force" in refused.stderr
    assert (out / "checksums.txt").read_text() == "mine\n"
    forced = cli.run("results", job_id, "-o", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "SHA256 (small.txt)" in (out / "checksums.txt").read_text()


def _bytes_received(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    match = re.search(r"^lfp_bytes_received_total ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, "lfp_bytes_received_total is missing from /metrics"
    return float(match.group(1))


def test_uploading_bytes_already_stored_sends_none(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "twice.bin", 2 * MiB, seed=8)
    first = _upload(cli, source)
    before = _bytes_received(server)
    again = cli.run("upload", str(source))
    assert again.returncode == 0, again.stderr
    assert "already stored: no bytes sent" in again.stderr
    second, _, _, _, _, sha256 = again.stdout.split()
    assert (second != first, sha256) == (True, file_sha256(source))
    assert _bytes_received(server) == before
    with user_api(server, cli) as api:
        assert api.get(f"/files/{second}").json()["state"] == "ready"


def test_upload_json_prints_each_file_with_its_job(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    paths = [tmp_path / "a.txt", tmp_path / "b.txt"]
    for path in paths:
        path.write_text(f"json {path.name}\n")
    done = cli.run("upload", *map(str, paths), "--process", "hash", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # nothing else on stdout
    assert [f["filename"] for f in printed] == ["a.txt", "b.txt"]
    with user_api(server, cli) as api:
        for file in printed:
            shown = api.get(f"/files/{file['id']}").json()
            assert set(shown) <= set(file)  # the file as the API shows it, and more
            for key in ("filename", "size", "sha256", "state", "created_at"):
                assert file[key] == shown[key]
            assert file["job"]["id"] == file["job_id"]
            assert file["job"]["state"] == "succeeded"

    queued = cli.run("upload", str(paths[0]), "--json", "--process", "hash", "--no-wait")
    assert queued.returncode == 0, queued.stderr
    (only,) = json.loads(queued.stdout)
    assert only["job_id"] and "job" not in only


def test_a_file_the_server_would_refuse_is_refused_before_it_is_hashed(
    cli: Cli, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(3 * 1024**3)  # sparse: over the test server's 2 GiB limit, on no disk
    refused = cli.run("upload", str(big))
    assert refused.returncode == 1
    assert "more than this server accepts" in refused.stderr
    assert "hashing" not in refused.stderr
