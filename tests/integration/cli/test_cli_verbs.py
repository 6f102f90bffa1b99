"""`lfp delete`, `lfp process`, ids given by a unique start, `--json` and piped tables."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import PASSWORD, Server, gate_params, upload_small, wait_for_job
from tests.integration.cli.conftest import Cli, user_api

FILE_HEADER = "id\tname\tsize\tstate\tsha256\tcreated"
JOB_HEADER = "id\tprocessor\tstate\tprogress\ttook\tqueued"


@pytest.fixture
def api(server: Server, cli: Cli) -> Iterator[httpx.Client]:
    """The API, signed in as the CLI's user."""
    client = user_api(server, cli)
    yield client
    client.close()


def _run(
    cli: Cli,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`lfp args` with stdin not a terminal (so nothing can ask) and `env` added."""
    return subprocess.run(
        cli.command(*args),
        env={**cli.env, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ok(cli: Cli, *args: str, env: dict[str, str] | None = None) -> str:
    result = _run(cli, *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _fails(cli: Cli, *args: str) -> str:
    result = _run(cli, *args)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("lfp: error:")
    return result.stderr


def _exists(api: httpx.Client, file_id: str) -> bool:
    status = api.get(f"/files/{file_id}").status_code
    assert status in (200, 404)
    return status == 200


def test_help_lists_the_new_verbs(cli: Cli) -> None:
    listed = _ok(cli, "--help")
    assert "delete" in listed and "process" in listed


def test_piped_tables_start_with_a_header_and_keep_whole_ids(cli: Cli, api: httpx.Client) -> None:
    file = upload_small(api, b"listed", "listed.bin", processor="hash")
    wait_for_job(api, file["job_id"])
    files = _ok(cli, "files").splitlines()
    assert files[0] == FILE_HEADER
    assert files[1].split("\t")[:2] == [file["id"], "listed.bin"]
    jobs = _ok(cli, "jobs").splitlines()
    assert jobs[0] == JOB_HEADER
    assert jobs[1].split("\t")[:3] == [file["job_id"], "hash", "succeeded"]
    # On a terminal the tables show ids short, as git does.
    for verb, whole in (("files", file["id"]), ("jobs", file["job_id"])):
        shown = _ok(cli, verb, env={"TTY_COMPATIBLE": "1", "COLUMNS": "200"})
        assert whole[:8] in shown and whole not in shown and "\t" not in shown


def test_listings_print_the_api_page_as_json(cli: Cli, api: httpx.Client) -> None:
    file = upload_small(api, b"as json", "j.bin", processor="hash")
    job = wait_for_job(api, file["job_id"])
    files = json.loads(_ok(cli, "files", "--json", "--per-page", "5"))
    assert files == api.get("/files", params={"per_page": 5}).json()
    assert files["items"][0]["id"] == file["id"]
    jobs = json.loads(_ok(cli, "jobs", "--json"))
    assert jobs["total"] == 1 and jobs["items"][0] == job
    assert json.loads(_ok(cli, "job", job["id"][:6], "--json")) == job


def test_process_runs_a_processor_on_a_stored_file(
    cli: Cli, api: httpx.Client, tmp_path: Path
) -> None:
    data = b"process me" * 1000
    file = upload_small(api, data, "p.bin")
    shown = _ok(cli, "process", file["id"][:8], "hash", "--param", "algorithms=md5,sha256")
    assert "succeeded" in shown and "download with `lfp results" in shown
    found = json.loads(
        _ok(cli, "process", file["id"], "hash", "--param", "algorithms=md5", "--json")
    )
    assert found["state"] == "succeeded" and found["file_id"] == file["id"]
    assert found["result"]["digests"] == {"md5": hashlib.md5(data).hexdigest()}
    assert api.get("/jobs", params={"file_id": file["id"]}).json()["total"] == 2

    queued = json.loads(_ok(cli, "process", file["id"][:5], "hash", "--no-wait", "--json"))
    assert queued["state"] in ("queued", "running", "succeeded")
    wait_for_job(api, queued["id"])
    got = json.loads(_ok(cli, "results", queued["id"][:7], "-o", str(tmp_path), "--json"))
    assert got["job"]["id"] == queued["id"]
    assert [Path(p).name for p in got["paths"]] == ["checksums.txt"]
    assert hashlib.sha256(data).hexdigest() in Path(got["paths"][0]).read_text()
    plain = _ok(cli, "process", file["id"], "hash", "--no-wait")
    assert plain.startswith("job ") and "queued: follow it with `lfp job" in plain

    assert "unknown processor 'nope'" in _fails(cli, "process", file["id"], "nope")
    assert "not key=value" in _fails(cli, "process", file["id"], "hash", "--param", "x")


def test_process_exits_1_when_the_job_fails(cli: Cli, api: httpx.Client, tmp_path: Path) -> None:
    file = upload_small(api, b"bad", "bad.bin")
    params = gate_params(tmp_path, fail=True)
    Path(params["gate"]).touch()
    pairs = [arg for k, v in params.items() for arg in ("--param", f"{k}={json.dumps(v)}")]
    result = _run(cli, "process", file["id"], "test-gate", *pairs, "--json")
    assert result.returncode == 1, result.stderr
    job = json.loads(result.stdout)
    assert job["state"] == "failed" and job["error"] == "told to fail at line 3, column 2"


def test_cancel_by_prefix_with_json(cli: Cli, api: httpx.Client, tmp_path: Path) -> None:
    file = upload_small(api, b"gated", "g.bin")
    pairs = [a for k, v in gate_params(tmp_path).items() for a in ("--param", f"{k}={v}")]
    queued = json.loads(
        _ok(cli, "process", file["id"][:8], "test-gate", *pairs, "--no-wait", "--json")
    )
    cancelled = json.loads(_ok(cli, "cancel", queued["id"][:8], "--json"))
    assert cancelled["id"] == queued["id"]
    assert cancelled["state"] == "cancelled" or cancelled["cancel_requested"] is True
    assert wait_for_job(api, queued["id"])["state"] == "cancelled"
    assert "already cancelled" in _fails(cli, "cancel", queued["id"][:8])
    assert f"job {queued['id']} is cancelled" in _fails(cli, "results", queued["id"][:8])


def test_delete_refuses_without_a_terminal_or_yes(cli: Cli, api: httpx.Client) -> None:
    file = upload_small(api, b"keep me")
    assert "pass --yes" in _fails(cli, "delete", file["id"])
    assert _exists(api, file["id"])


def test_delete_removes_every_file_it_finds_and_exits_1_for_the_rest(
    cli: Cli, api: httpx.Client
) -> None:
    first = upload_small(api, b"one", "one.bin")
    second = upload_small(api, b"two", "two.bin", processor="hash")
    kept = upload_small(api, b"kept", "kept.bin")
    missing = str(uuid.uuid4())
    result = _run(cli, "delete", "--yes", first["id"][:8], missing, second["id"].upper())
    assert result.returncode == 1
    assert f"no file {missing}" in result.stderr
    assert f"deleted {first['id']}  one.bin" in result.stdout
    assert f"deleted {second['id']}  two.bin" in result.stdout
    assert not _exists(api, first["id"]) and not _exists(api, second["id"])
    assert api.get(f"/jobs/{second['job_id']}").status_code == 404
    assert _exists(api, kept["id"])

    absent = "ffff-fff" if kept["id"].startswith("0000") else "0000-000"
    answer = _run(cli, "delete", "-y", "--json", kept["id"], kept["id"][:6], absent)
    assert answer.returncode == 1
    body = json.loads(answer.stdout)
    assert [f["id"] for f in body["deleted"]] == [kept["id"]]  # named twice, deleted once
    assert body["deleted"][0]["filename"] == "kept.bin"
    assert body["failed"] == [{"id": absent, "error": f"no file with an id starting '{absent}'"}]
    assert not _exists(api, kept["id"])


def _delete_on_a_terminal(
    cli: Cli, answer: bytes, *file_ids: str
) -> subprocess.CompletedProcess[str]:
    """`lfp delete` with stdin a terminal on which the user types `answer`."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            cli.command("delete", *file_ids),
            env=cli.env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        os.write(master, answer)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_delete_asks_on_a_terminal(cli: Cli, api: httpx.Client) -> None:
    a = upload_small(api, b"a" * 2048, "a.bin")
    b = upload_small(api, b"b", "b.bin")
    refused = _delete_on_a_terminal(cli, b"n\n", a["id"], b["id"][:8])
    assert refused.returncode == 1
    assert "Delete 2 file(s): a.bin (2.0 KiB), b.bin (1 B)" in refused.stderr
    assert "[y/N]" in refused.stderr and "nothing deleted" in refused.stderr
    assert _exists(api, a["id"]) and _exists(api, b["id"])
    agreed = _delete_on_a_terminal(cli, b"y\n", a["id"], b["id"][:8])
    assert agreed.returncode == 0, agreed.stderr
    assert not _exists(api, a["id"]) and not _exists(api, b["id"])


def _renumber(server_database: sa.Engine, file_id: str, start: str) -> str:
    """Give the file an id beginning with `start` (the upload that made it forgets it)."""
    old = uuid.UUID(file_id)
    new = uuid.UUID(start + old.hex[len(start) :])
    files = sa.table("files", sa.column("id", sa.Uuid()))
    uploads = sa.table("uploads", sa.column("file_id", sa.Uuid()))
    with server_database.begin() as connection:
        connection.execute(uploads.update().where(uploads.c.file_id == old).values(file_id=None))
        connection.execute(files.update().where(files.c.id == old).values(id=new))
    return str(new)


def test_ids_are_taken_by_any_unique_start(
    cli: Cli, api: httpx.Client, server_database: sa.Engine, tmp_path: Path
) -> None:
    start = uuid.uuid4().hex[:6]
    ids = [
        _renumber(server_database, upload_small(api, bytes([n]), f"twin{n}")["id"], start)
        for n in (1, 2)
    ]
    ambiguous = _fails(cli, "download", start[:4] + "-" + start[4:], "-o", str(tmp_path / "x"))
    assert f"file id '{start[:4]}-{start[4:]}' is ambiguous: 2 files match" in ambiguous
    for n, file_id in enumerate(ids, 1):
        assert f"{file_id}  twin{n}  " in ambiguous
    target = tmp_path / "twin2"
    assert str(target) in _ok(cli, "download", ids[1][:10], "-o", str(target))
    assert target.read_bytes() == b"\x02"

    assert "at least 4 of its hex digits" in _fails(cli, "download", start[:3])
    assert "'zzzz' is not a file id" in _fails(cli, "delete", "--yes", "zzzz")
    gone = "0000" if not start.startswith("0000") else "ffff"
    assert f"no file with an id starting '{gone}'" in _fails(cli, "download", gone)
    assert f"no job with an id starting '{gone}'" in _fails(cli, "job", gone)


def test_another_users_ids_never_match(server: Server, cli: Cli, tmp_path: Path) -> None:
    other = Cli(server, tmp_path / "other")
    email = f"other-{uuid.uuid4().hex[:10]}@example.com"
    assert _run(other, "signup", "--email", email, "--password", PASSWORD).returncode == 0
    with user_api(server, other) as other_api:
        theirs = upload_small(other_api, b"theirs")["id"]
    assert f"no file with an id starting '{theirs[:8]}'" in _fails(cli, "download", theirs[:8])
    assert f"no file {theirs}" in _fails(cli, "delete", "--yes", theirs)
    assert _ok(other, "files").splitlines()[1].startswith(theirs)
