"""The `lfp` command end to end against a real server: sign-up, upload, resume, download."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.helpers import (
    MiB,
    Server,
    file_sha256,
    random_file,
    wait_for_job,
    wait_until,
)
from tests.integration.cli.conftest import Cli, user_api


def test_credentials_are_private(cli: Cli) -> None:
    assert (cli.config_dir / "credentials.json").stat().st_mode & 0o777 == 0o600


def test_upload_then_download_round_trips(cli: Cli, tmp_path: Path) -> None:
    source = random_file(tmp_path / "cli.bin", 21 * MiB + 5, seed=11)
    uploaded = cli.run("upload", str(source), "--chunk-size", "5MiB", "--parallel", "4")
    assert uploaded.returncode == 0, uploaded.stderr
    file_id, name = uploaded.stdout.split()[:2]
    assert name == "cli.bin"
    assert file_sha256(source) in uploaded.stdout

    listed = cli.run("files")
    assert listed.returncode == 0
    assert f"{file_id}\tcli.bin" in listed.stdout

    target = tmp_path / "back.bin"
    downloaded = cli.run("download", file_id, "-o", str(target))
    assert downloaded.returncode == 0, downloaded.stderr
    assert file_sha256(target) == file_sha256(source)
    assert not target.with_name("back.bin.part").exists()


def test_interrupted_upload_resumes_sending_only_missing_chunks(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "resume.bin", 400 * MiB, seed=12)
    first = cli.start("upload", str(source), "--chunk-size", "5MiB", "--parallel", "1")
    api = user_api(server, cli)

    upload = wait_until(lambda: cli.upload_with_chunks(api), 60, "the first chunks to arrive")
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130
    assert "run the same command again to resume" in stderr

    before = api.get(f"/uploads/{upload['id']}").json()
    assert before["state"] == "open"
    assert 0 < len(before["received"]) < before["chunk_count"]
    puts_before = server.log().count(f"PUT /api/v1/uploads/{upload['id']}/chunks/")

    second = cli.run("upload", str(source), "--chunk-size", "5MiB", "--parallel", "1")
    assert second.returncode == 0, second.stderr
    assert file_sha256(source) in second.stdout
    puts = server.log().count(f"PUT /api/v1/uploads/{upload['id']}/chunks/") - puts_before
    assert puts == before["chunk_count"] - len(before["received"])
    api.close()


def test_failures_exit_non_zero_with_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = cli.run("upload", str(tmp_path / "nope.bin"))
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("lfp: error:")
    assert "no such file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    unknown = cli.run("download", str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "lfp: error:" in unknown.stderr
    assert "404" in unknown.stderr


def test_commands_need_a_login(server: Server, tmp_path: Path) -> None:
    anonymous = Cli(server, tmp_path / "empty")
    result = anonymous.run("files")
    assert result.returncode == 1
    assert "lfp login" in result.stderr


def test_db_upgrade_migrates_and_can_run_again(
    backend: str, make_database: Callable[[str], str | None], tmp_path: Path
) -> None:
    env = {**os.environ, "LFP_DATA_DIR": str(tmp_path / "data")}
    url = make_database(backend)
    if url:
        env["LFP_DATABASE_URL"] = url
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "lfp.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
    if not url:
        assert (tmp_path / "data" / "lfp.db").exists()


def test_upload_with_a_processor_waits_for_the_job_and_fetches_results(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    source = tmp_path / "small.txt"
    source.write_bytes(b"processed by the CLI\n")
    done = cli.run("upload", str(source), "--process", "hash", "--param", "algorithms=md5,sha1")
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    with user_api(server, cli) as api:
        (job,) = api.get("/jobs").json()["items"]
    assert job["params"] == {"algorithms": ["md5", "sha1"]}
    assert job["result"]["digests"]["md5"] == hashlib.md5(source.read_bytes()).hexdigest()

    listed = cli.run("jobs")
    assert listed.returncode == 0 and job["id"] in listed.stdout and "succeeded" in listed.stdout
    shown = cli.run("job", job["id"], "--json")
    assert json.loads(shown.stdout)["id"] == job["id"]
    fetched = cli.run("results", job["id"], "-o", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    text = (tmp_path / "out" / "checksums.txt").read_text()
    assert f"MD5 (small.txt) = {job['result']['digests']['md5']}" in text
    assert json.loads(fetched.stdout[fetched.stdout.index("{") :]) == job["result"]


def test_upload_no_wait_then_cancel(cli: Cli, server: Server, tmp_path: Path) -> None:
    source = tmp_path / "gate.txt"
    source.write_bytes(b"held")
    gate = tmp_path / "gate"
    params = ["--param", f"gate={gate}", "--param", f"starts={tmp_path / 'starts'}"]
    done = cli.run("upload", str(source), "--process", "test-gate", *params, "--no-wait")
    assert done.returncode == 0, done.stderr
    with user_api(server, cli) as api:
        (job,) = api.get("/jobs").json()["items"]
        assert job["state"] in ("queued", "running")
        cancelled = cli.run("cancel", job["id"])
        assert cancelled.returncode == 0, cancelled.stderr
        final = wait_for_job(api, job["id"])
    assert final["state"] == "cancelled"
    refused = cli.run("results", job["id"])
    assert refused.returncode == 1
    assert "is cancelled; it has no results" in refused.stderr


def test_bad_processor_or_param_fails_before_uploading(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "x.txt"
    source.write_bytes(b"x")
    unknown = cli.run("upload", str(source), "--process", "nope")
    assert unknown.returncode == 1
    assert "unknown processor 'nope'" in unknown.stderr
    bad = cli.run("upload", str(source), "--process", "hash", "--param", "algorithms=crc")
    assert bad.returncode == 1
    assert "algorithms.0" in bad.stderr and "(HTTP 422)" in bad.stderr
    assert "hashing" not in bad.stderr  # told before the file is read
    malformed = cli.run("upload", str(source), "--process", "hash", "--param", "algorithms")
    assert malformed.returncode == 1
    assert "is not key=value" in malformed.stderr
    listed = cli.run("processors")
    assert listed.returncode == 0
    assert "hash" in listed.stdout and "--param algorithms=" in listed.stdout


def test_catalogue_listings(cli: Cli, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    titles = tmp_path / "titles.csv"
    titles.write_text(
        "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,"
        "listed_in,description\n"
        f'{tag}-1,Movie,Film {tag},Ann,"Bo, Cy",France," March 3, 2021",2020,PG,90 min,Drama,x\n'
    )
    products = tmp_path / "products.csv"
    products.write_text(f'name,sku,description\n"Lamp, {tag}",{tag}-SKU,"bright\nand warm"\n')
    for path, processor in ((titles, "titles"), (products, "products")):
        loaded = cli.run("upload", str(path), "--process", processor)
        assert loaded.returncode == 0, loaded.stderr

    listed = cli.run("titles", "--q", f"Film {tag}", "--sort-by", "title", "--sort-order", "1")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]  # piped: the column names come first
    assert header.split("\t")[:3] == ["show_id", "type", "title"]
    assert row.split("\t")[:3] == [f"{tag}-1", "Movie", f"Film {tag}"]
    found = cli.run("products", "--q", tag)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0] == "sku\tname\tupdated_at"
    assert found.stdout.splitlines()[1].startswith(f"{tag}-sku\tLamp, {tag}\t")  # lower case
    counted = cli.run("products", "--aggregates", "--sort-by", "count")
    assert counted.returncode == 0, counted.stderr
    assert f"Lamp, {tag}\t1\n" in counted.stdout
    refused = cli.run("titles", "--sort-by", "nope")
    assert refused.returncode == 1
    assert "sort_by must be one of:" in refused.stderr and "(HTTP 400)" in refused.stderr
