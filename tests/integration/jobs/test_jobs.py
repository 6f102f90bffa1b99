"""Jobs through the real server with the local executor: submit, watch, cancel, outputs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import duckdb
import httpx
import pytest

from tests.helpers import (
    CHUNK,
    Server,
    create_upload,
    gate_params,
    random_file,
    read_chunk,
    sign_up,
    upload_small,
    wait_for_job,
    wait_until,
)

ALGORITHMS = ["md5", "sha1", "sha256", "sha512", "blake2b", "blake3"]


def _starts(params: dict[str, Any]) -> int:
    path = Path(params["starts"])
    return len(path.read_text().splitlines()) if path.exists() else 0


def _running(api: httpx.Client, job_id: str, params: dict[str, Any], starts: int = 1) -> None:
    """Wait until the gate job is provably inside its processor (its `starts`-th run)."""
    wait_for_job(api, job_id, ("running",))
    wait_until(lambda: _starts(params) >= starts, 60, "the processor to start")


def test_hash_job_from_a_chunked_upload(api: httpx.Client, tmp_path: Path) -> None:
    source = random_file(tmp_path / "in.bin", 2 * CHUNK + 1234, seed=3)
    data = source.read_bytes()
    upload = create_upload(api, len(data), processor="hash", params={"algorithms": ALGORITHMS})
    for index in range(upload["chunk_count"]):
        chunk = read_chunk(source, index)
        assert api.put(f"/uploads/{upload['id']}/chunks/{index}", content=chunk).status_code == 204
    done = api.post(f"/uploads/{upload['id']}/complete")
    assert done.status_code == 202
    job_id = done.json()["job_id"]
    assert job_id is not None
    # Completing again (a client that lost the answer) names the same job.
    assert api.post(f"/uploads/{upload['id']}/complete").json()["job_id"] == job_id
    assert api.get(f"/uploads/{upload['id']}").json()["job_id"] == job_id

    job = wait_for_job(api, job_id)
    assert job["state"] == "succeeded", job
    expected = {name: hashlib.new(name, data).hexdigest() for name in ALGORITHMS[:-1]}
    expected["blake3"] = blake3.blake3(data).hexdigest()
    assert job["result"]["digests"] == expected
    assert job["progress"] == 1.0
    assert (job["progress_done"], job["progress_total"], job["progress_unit"]) == (
        len(data),
        len(data),
        "bytes",
    )
    assert job["file_id"] == done.json()["file_id"]
    assert job["attempts"] == 1
    assert job["processing_seconds"] is not None and job["processing_seconds"] >= 0
    assert job["upload_seconds"] is not None and job["upload_seconds"] >= 0
    assert job["queued_at"] <= job["started_at"] <= job["finished_at"]

    (output,) = job["outputs"]
    assert output["name"] == "checksums.txt"
    text = api.get(output["url"].removeprefix("/api/v1")).text
    assert f"SHA256 (data.bin) = {expected['sha256']}\n" in text


def test_one_shot_upload_queues_the_job(api: httpx.Client) -> None:
    params = json.dumps({"algorithms": ["sha1"]})
    file = upload_small(api, b"abc", processor="hash", params=params)
    job = wait_for_job(api, file["job_id"])
    assert job["result"]["digests"] == {"sha1": hashlib.sha1(b"abc").hexdigest()}


def test_submit_on_a_stored_file_and_list(api: httpx.Client) -> None:
    file = upload_small(api, b"hello")
    response = api.post("/jobs", json={"file_id": file["id"], "processor": "hash"})
    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json()['id']}"
    job = wait_for_job(api, response.json()["id"])
    assert job["params"] == {"algorithms": ["sha256"]}  # defaults are filled in and shown
    second = api.post(
        "/jobs", json={"file_id": file["id"], "processor": "hash", "params": {"algorithms": []}}
    )
    assert second.status_code == 422

    listed = api.get("/jobs").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    assert api.get("/jobs", params={"state": "failed"}).json()["total"] == 0
    assert api.get("/jobs", params={"file_id": file["id"]}).json()["total"] == 1


@pytest.mark.parametrize(
    ("processor", "params", "detail"),
    [
        ("nope", {}, "unknown processor 'nope'; this server has: "),
        ("hash", {"algorithms": ["crc32"]}, "algorithms.0: must be 'md5', 'sha1'"),
        ("hash", {"unknown": 1}, "unknown: is not a known field; the fields are: algorithms"),
        ("hash", {"algorithms": "sha256"}, "algorithms: must be a list of text such as ["),
    ],
)
def test_bad_processor_or_params_are_refused_at_submit(
    api: httpx.Client, processor: str, params: dict[str, Any], detail: str
) -> None:
    file = upload_small(api, b"x")
    for response in (
        api.post("/jobs", json={"file_id": file["id"], "processor": processor, "params": params}),
        api.post(
            "/uploads",
            json={"filename": "a", "size": 1, "processor": processor, "params": params},
        ),
        api.post(
            "/files",
            params={"processor": processor, "params": json.dumps(params)},
            files={"file": ("a", b"x")},
        ),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert detail in response.json()["detail"]
    assert api.get("/jobs").json()["total"] == 0


def test_malformed_params_query_is_a_422(api: httpx.Client) -> None:
    response = api.post(
        "/files", params={"processor": "hash", "params": "{nope"}, files={"file": ("a", b"x")}
    )
    assert response.status_code == 422
    assert "params is not valid JSON" in response.json()["detail"]
    response = api.post("/uploads", json={"filename": "a", "size": 1, "params": {"a": 1}})
    assert response.status_code == 422
    assert "without a processor" in response.json()["detail"]


def test_processors_are_listed_with_their_params_schema(api: httpx.Client) -> None:
    processors = {p["name"]: p for p in api.get("/processors").json()}
    assert {"hash", "song-plays", "csv-aggregate", "test-gate"} <= set(processors)
    schema = processors["hash"]["params_schema"]
    assert set(schema["properties"]["algorithms"]["items"]["enum"]) == set(ALGORITHMS)
    assert processors["hash"]["description"]


def test_jobs_belong_to_their_owner(api: httpx.Client, other_api: httpx.Client) -> None:
    file = upload_small(api, b"mine", processor="hash")
    job = wait_for_job(api, file["job_id"])
    job_id = job["id"]
    for method, path in [
        ("GET", f"/jobs/{job_id}"),
        ("GET", f"/jobs/{job_id}/events"),
        ("GET", f"/jobs/{job_id}/outputs/checksums.txt"),
        ("POST", f"/jobs/{job_id}/cancel"),
    ]:
        response = other_api.request(method, path)
        assert response.status_code == 404, (method, path)
        assert "mine" not in response.text
    assert other_api.get("/jobs").json()["total"] == 0
    stolen = other_api.post("/jobs", json={"file_id": file["id"], "processor": "hash"})
    assert stolen.status_code == 404


def test_output_download_honours_range(api: httpx.Client) -> None:
    file = upload_small(api, b"ranged", filename="r.txt", processor="hash")
    job = wait_for_job(api, file["job_id"])
    url = f"/jobs/{job['id']}/outputs/checksums.txt"
    whole = api.get(url)
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"].startswith("text/plain")
    part = api.get(url, headers={"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == whole.content[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{len(whole.content)}"
    outside = api.get(url, headers={"Range": f"bytes={len(whole.content)}-"})
    assert outside.status_code == 416
    missing = api.get(f"/jobs/{job['id']}/outputs/nothing.csv")
    assert missing.status_code == 404
    assert "checksums.txt" in missing.json()["detail"]


def test_events_stream_progress_and_end_with_the_final_state(
    api: httpx.Client, tmp_path: Path
) -> None:
    params = gate_params(tmp_path)
    file = upload_small(api, b"gated", processor="test-gate", params=json.dumps(params))
    events: list[tuple[str, dict[str, Any]]] = []
    with api.stream("GET", f"/jobs/{file['job_id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind:
                events.append((kind, json.loads(line.removeprefix("data: "))))
                if events[-1][1]["state"] == "running" and events[-1][1]["progress"] == 0.5:
                    Path(params["gate"]).touch()  # the job may end once we saw it mid-way
    states = [data["state"] for kind, data in events if kind == "state"]
    assert states[0] in ("queued", "running")
    assert states[-1] == "succeeded"
    assert "running" in states
    progress = [data["progress"] for _, data in events]
    assert 0.5 in progress
    assert progress == sorted(progress)
    assert events[-1][1]["outputs"][0]["name"] == "copy"


def test_cancel_a_running_job(api: httpx.Client, tmp_path: Path) -> None:
    params = gate_params(tmp_path)
    file = upload_small(api, b"to cancel", processor="test-gate", params=json.dumps(params))
    job_id = file["job_id"]
    _running(api, job_id, params)
    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    job = wait_for_job(api, job_id)
    assert job["state"] == "cancelled"
    assert job["outputs"] == [] and job["result"] is None
    again = api.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


def test_cancel_a_queued_job_at_once(api: httpx.Client, tmp_path: Path) -> None:
    # Two gate jobs fill the pool (2 workers); a third waits in the queue.
    params = gate_params(tmp_path)
    blockers = [
        upload_small(api, b"b", processor="test-gate", params=json.dumps(params))["job_id"]
        for _ in range(2)
    ]
    for job_id in blockers:
        wait_for_job(api, job_id, ("running",))
    waiting = upload_small(api, b"w", processor="hash")["job_id"]
    assert api.get(f"/jobs/{waiting}").json()["state"] == "queued"
    cancelled = api.post(f"/jobs/{waiting}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["finished_at"] is not None
    Path(params["gate"]).touch()
    for job_id in blockers:
        assert wait_for_job(api, job_id)["state"] == "succeeded"
    assert api.get(f"/jobs/{waiting}").json()["state"] == "cancelled"


def test_processor_error_fails_the_job_with_its_message(api: httpx.Client, tmp_path: Path) -> None:
    params = gate_params(tmp_path, fail=True)
    Path(params["gate"]).touch()
    file = upload_small(api, b"bad", processor="test-gate", params=json.dumps(params))
    job = wait_for_job(api, file["job_id"])
    assert job["state"] == "failed"
    assert job["error"] == "told to fail at line 3, column 2"
    assert job["outputs"] == []


def test_a_job_on_a_file_that_fails_verification_fails(api: httpx.Client) -> None:
    upload = create_upload(api, 3, checksum="sha256:" + "0" * 64, processor="hash", chunk_size=None)
    assert api.put(f"/uploads/{upload['id']}/chunks/0", content=b"abc").status_code == 204
    job_id = api.post(f"/uploads/{upload['id']}/complete").json()["job_id"]
    job = wait_for_job(api, job_id)
    assert job["state"] == "failed"
    assert job["error"].startswith("the input file failed: checksum mismatch")
    file_id = job["file_id"]
    refused = api.post("/jobs", json={"file_id": file_id, "processor": "hash"})
    assert refused.status_code == 409


def test_deleting_a_file_removes_its_jobs(api: httpx.Client) -> None:
    file = upload_small(api, b"short-lived", processor="hash")
    wait_for_job(api, file["job_id"])
    assert api.delete(f"/files/{file['id']}").status_code == 204
    assert api.get(f"/jobs/{file['job_id']}").status_code == 404


@pytest.mark.slow
def test_jobs_survive_a_server_kill(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    params = gate_params(tmp_path)
    with sign_up(server.url) as api:
        # Two running jobs fill the pool (2 workers) ...
        running = [
            upload_small(api, b"r", processor="test-gate", params=json.dumps(params))["job_id"]
            for _ in range(2)
        ]
        for job_id in running:
            wait_for_job(api, job_id, ("running",))
        wait_until(lambda: _starts(params) == 2, 60, "both gate jobs to start")
        # ... so a third, handed to the pool, waits in its queue in memory ...
        queued = upload_small(api, b"queued", processor="hash")["job_id"]
        # ... and a fourth may still wait for its file's verification.
        upload = create_upload(api, 4, processor="hash", chunk_size=None)
        api.put(f"/uploads/{upload['id']}/chunks/0", content=b"late")
        late = api.post(f"/uploads/{upload['id']}/complete").json()["job_id"]
        assert api.get(f"/jobs/{queued}").json()["state"] == "queued"
        server.kill()
        Path(params["gate"]).touch()
        server.start()

        for job_id in running:
            job = wait_for_job(api, job_id, timeout=60)
            assert job["state"] == "succeeded", job
            assert job["attempts"] == 2
            assert api.get(job["outputs"][0]["url"].removeprefix("/api/v1")).content == b"r"
        assert _starts(params) == 4
        for job_id, data in ((queued, b"queued"), (late, b"late")):
            job = wait_for_job(api, job_id, timeout=60)
            assert job["result"]["digests"]["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_a_stopped_server_gives_running_jobs_back(
    start_server: Callable[..., Server], backend: str, tmp_path: Path
) -> None:
    server = start_server(backend)
    params = gate_params(tmp_path)
    with sign_up(server.url) as api:
        job_id = upload_small(api, b"s", processor="test-gate", params=json.dumps(params))["job_id"]
        _running(api, job_id, params)
        server.stop()
        Path(params["gate"]).touch()
        server.start()
        job = wait_for_job(api, job_id, timeout=60)
        assert job["state"] == "succeeded"
        # A graceful stop hands the job back: the interrupted run does not count.
        assert job["attempts"] == 1 and _starts(params) == 2


def test_song_plays_through_the_server(api: httpx.Client) -> None:
    rows = [
        ("Hey, Jude", "2024-01-02", 3),
        ('Say "Hi"', "2024-01-01", 1),
        ("Hey, Jude", "2024-01-01", 2),
        ("Hey, Jude", "2024-01-02", 4),
    ]
    text = "Song,Date,Number of Plays\r\n" + "".join(
        f'"{song.replace(chr(34), chr(34) * 2)}",{day},{plays}\r\n' for song, day, plays in rows
    )
    file = upload_small(api, b"\xef\xbb\xbf" + text.encode(), "plays.csv", processor="song-plays")
    job = wait_for_job(api, file["job_id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["rows_read"] == 4
    (output,) = job["outputs"]
    body = api.get(output["url"].removeprefix("/api/v1")).text
    assert list(csv.reader(io.StringIO(body))) == [
        ["Song", "Date", "Total Number of Plays for Date"],
        ["Hey, Jude", "2024-01-01", "2"],
        ["Hey, Jude", "2024-01-02", "7"],
        ['Say "Hi"', "2024-01-01", "1"],
    ]


def test_malformed_csv_fails_naming_line_and_column(api: httpx.Client) -> None:
    data = b"Song,Date,Number of Plays\nA,2024-01-01,1\nB,2024-01-01,lots\n"
    file = upload_small(api, data, "bad.csv", processor="song-plays")
    job = wait_for_job(api, file["job_id"])
    assert job["state"] == "failed"
    assert job["error"].startswith("line 3")
    assert "Number of Plays" in job["error"]
    assert job["outputs"] == []


def test_csv_aggregate_to_parquet_through_the_server(api: httpx.Client, tmp_path: Path) -> None:
    data = b"region;amount\nnorth;1.5\nsouth;2\nnorth;3\n"
    params = {
        "group_by": ["region"],
        "aggregates": [{"column": "amount", "function": "sum"}],
        "delimiter": ";",
        "output_format": "parquet",
    }
    file = upload_small(
        api, data, "sales.csv", processor="csv-aggregate", params=json.dumps(params)
    )
    job = wait_for_job(api, file["job_id"])
    assert job["state"] == "succeeded", job
    (output,) = job["outputs"]
    assert output["name"] == "aggregate.parquet"
    target = tmp_path / "out.parquet"
    target.write_bytes(api.get(output["url"].removeprefix("/api/v1")).content)
    with duckdb.connect() as connection:
        query = f"SELECT * FROM read_parquet('{target}') ORDER BY 1"
        rows = connection.execute(query).fetchall()
    assert rows == [("north", 4.5), ("south", 2.0)]
