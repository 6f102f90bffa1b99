"""Full disks, for real: a server whose data dir (SQLite and blobs) is a small tmpfs.

Each case mounts its own 64 MiB tmpfs, fills it close to full with a preallocated file and
streams more than fits. Mounting needs root and a sandbox that allows `mount`; where it is
not allowed the cases skip, saying so (in CI too: CI runs on the same kind of machine).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASE_ENV
from tests.helpers import (
    MiB,
    Server,
    gate_params,
    random_file,
    sign_up,
    upload_small,
    wait_for_job,
    wait_until,
)

DISK_SIZE = 64 * MiB
PROBLEM = "application/problem+json"


def _mount_tmpfs(path: Path) -> str | None:
    """Mount a small tmpfs at `path`; why it cannot be done, or None once mounted."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs as the full disk needs root"
    command = ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"cannot run mount: {exc}"
    if done.returncode != 0:
        return f"this sandbox does not allow mounting a tmpfs: {done.stderr.strip()}"
    return None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 64 MiB tmpfs, unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    reason = _mount_tmpfs(disk)
    if reason:
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts `lfp serve` on a data dir of the test's choosing; stops it before unmounting."""
    servers: list[Server] = []

    def start(data_dir: Path, **env: str) -> Server:
        server = Server(data_dir, {**BASE_ENV, **env})
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


def fill(disk: Path, leave: int) -> Path:
    """Take all but `leave` bytes of `disk` with one preallocated file."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if free > leave:
            os.posix_fallocate(fd, 0, free - leave)
    finally:
        os.close(fd)
    return filler


def fill_completely(disk: Path) -> None:
    """Take every free byte of `disk`, writing until it reports ENOSPC."""
    filler = fill(disk, 0)
    fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: the disk is full
    finally:
        os.close(fd)


def staging_blobs(blobs: Path) -> list[str]:
    """The staging blobs left under a local store."""
    folder = blobs / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_full_disk_problem(response: httpx.Response) -> None:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 507
    assert "full" in body["detail"] or "space" in body["detail"]


@pytest.mark.parametrize("reserve", [str(4 * MiB), "0"], ids=["reserve", "no-reserve"])
def test_a_stream_that_fills_the_disk_answers_507_and_leaves_nothing_sqlite(
    small_disk: Path, serve: Callable[..., Server], tmp_path: Path, reserve: str
) -> None:
    server = serve(small_disk, LFP_DB_RESERVE_BYTES=reserve)
    big = random_file(tmp_path / "big.bin", 40 * MiB, seed=9)
    fill(small_disk, 12 * MiB)
    with sign_up(server.url) as client:
        with open(big, "rb") as f:
            response = client.post("/files", files={"file": ("big.bin", f)})
        assert_full_disk_problem(response)
        assert staging_blobs(small_disk / "blobs") == []
        assert client.get("/files").json()["total"] == 0
        # The abort is recorded: the space its bytes took was given back first.
        with sqlite3.connect(small_disk / "lfp.db") as db:
            states = [row[0] for row in db.execute("SELECT state FROM uploads")]
        assert states == ["aborted"]
        (small_disk / "filler").unlink()
        small = random_file(tmp_path / "small.bin", 2 * MiB, seed=10)
        with open(small, "rb") as f:
            assert client.post("/files", files={"file": ("small.bin", f)}).status_code == 201
    assert "unhandled error" not in server.log()


def test_a_stream_that_fills_the_blob_disk_answers_507_and_leaves_nothing_postgres(
    small_disk: Path,
    serve: Callable[..., Server],
    tmp_path: Path,
    make_database: Callable[[str], str | None],
) -> None:
    url = make_database("postgres")
    assert url is not None
    blobs = small_disk / "blobs"
    server = serve(tmp_path / "data", LFP_DATABASE_URL=url, LFP_STORAGE_URL=f"file://{blobs}")
    big = random_file(tmp_path / "big.bin", 40 * MiB, seed=11)
    fill(small_disk, 12 * MiB)
    with sign_up(server.url) as client:
        with open(big, "rb") as f:
            response = client.post("/files", files={"file": ("big.bin", f)})
        assert_full_disk_problem(response)
        assert staging_blobs(blobs) == []
        assert client.get("/files").json()["total"] == 0
    assert "unhandled error" not in server.log()


def test_a_disk_with_no_byte_left_answers_507_never_500(
    small_disk: Path, serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(small_disk, LFP_DB_RESERVE_BYTES="0")
    with sign_up(server.url) as client:
        tus = {"Tus-Resumable": "1.0.0"}
        created = client.post("/tus/", headers={**tus, "Upload-Defer-Length": "1"})
        assert created.status_code == 201, created.text
        location = str(httpx.URL(server.url).join(created.headers["Location"]))
        deferred = client.post("/uploads", json={"filename": "d.bin", "size": None})
        assert deferred.status_code == 201, deferred.text
        fill_completely(small_disk)
        small = random_file(tmp_path / "small.bin", 1 * MiB, seed=12)
        with open(small, "rb") as f:
            assert_full_disk_problem(client.post("/files", files={"file": ("small.bin", f)}))
        put = client.put(f"/uploads/{deferred.json()['id']}/chunks/0", content=small.read_bytes())
        assert_full_disk_problem(put)
        dropzone = client.post(
            "/dropzone",
            files={"file": ("dz.bin", small.read_bytes(), "application/octet-stream")},
            headers={"X-Requested-With": "XMLHttpRequest"},
        )
        assert dropzone.status_code == 507, dropzone.text
        patch = client.patch(
            location,
            content=small.read_bytes(),
            headers={
                **tus,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert patch.status_code == 507, patch.text
        assert client.post("/uploads", json={"filename": "x", "size": 1 * MiB}).status_code == 507
        # Only the two open uploads keep their staging blobs; the failed PATCH kept
        # nothing (the tus upload's staging file is cut back to its offset, 0).
        tus_id = location.rsplit("/", 1)[-1]
        assert staging_blobs(small_disk / "blobs") == sorted([tus_id, deferred.json()["id"]])
        assert (small_disk / "blobs" / "uploads" / tus_id).stat().st_size == 0
    assert "unhandled error" not in server.log()


def test_the_sweeper_removes_orphaned_staging_blobs_and_keeps_live_ones(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("sqlite")
    folder = server.data_dir / "blobs" / "uploads"
    with sign_up(server.url) as client:
        live = client.post("/uploads", json={"filename": "live.bin", "size": 10}).json()["id"]
    folder.mkdir(parents=True, exist_ok=True)
    orphan = folder / str(uuid.uuid4())
    orphan.write_bytes(b"left by a server that died")
    long_ago = 1_000_000_000
    for path in (orphan, folder / live):
        os.utime(path, (long_ago, long_ago))
    wait_until(lambda: not orphan.exists(), 30, "the sweeper to remove the orphan")
    assert (folder / live).exists()


def test_a_job_that_fills_the_disk_fails_saying_so_and_gives_the_room_back(
    small_disk: Path, serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(small_disk, LFP_DB_RESERVE_BYTES="0")
    gate = gate_params(tmp_path)
    with sign_up(server.url) as client:
        data = random_file(tmp_path / "input.bin", 20 * MiB, seed=13).read_bytes()
        file = upload_small(client, data, processor="test-gate", params=json.dumps(gate))
        job_id = file["job_id"]
        wait_for_job(client, job_id, states=("running",))
        wait_until(lambda: Path(gate["starts"]).exists(), 60, "the job to start")
        fill(small_disk, 2 * MiB)
        Path(gate["gate"]).touch()  # the job now copies 20 MiB where 2 are left

        failed = wait_for_job(client, job_id)
        assert failed["state"] == "failed", failed
        assert "ran out of disk space" in failed["error"], failed["error"]
        assert list((small_disk / "work").iterdir()) == []  # its scratch is gone
    assert "unhandled error" not in server.log()
