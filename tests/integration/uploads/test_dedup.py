"""Uploads of bytes the user already holds: completed at creation without a byte sent,
the new file sharing the stored bytes, which go only with the last file naming them; on
SQLite, PostgreSQL and PostgreSQL with S3."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import (
    CHUNK,
    MiB,
    Server,
    download_sha256,
    sign_in_admin,
    sign_up,
    upload_small,
    wait_for_file,
    wait_for_job,
    wait_until,
)

DATA = hashlib.sha256(b"seed").digest() * (3 * CHUNK // 32 + 100)  # 3 chunks and a bit


def _stored(api: httpx.Client, data: bytes = DATA, name: str = "first.bin") -> dict[str, Any]:
    """A ready file of `data`, stored the ordinary way."""
    file = wait_for_file(api, upload_small(api, data, filename=name)["id"])
    assert file["state"] == "ready", file
    return file


def _declare(api: httpx.Client, data: bytes = DATA, **fields: Any) -> httpx.Response:
    body = {
        "filename": "again.csv",
        "size": len(data),
        "chunk_size": CHUNK,
        "checksum": f"sha256:{hashlib.sha256(data).hexdigest()}",
        "content_type": "text/csv",
        **fields,
    }
    return api.post("/uploads", json=body)


def _open(answer: httpx.Response) -> dict[str, Any]:
    """The ordinary open upload `answer` must be."""
    assert answer.status_code == 201, answer.text
    upload: dict[str, Any] = answer.json()
    assert (upload["state"], upload["deduplicated"], upload["file_id"]) == ("open", False, None)
    assert upload["received"] == [] and upload["bytes_received"] == 0
    return upload


def blob_keys(server: Server) -> set[str]:
    """Every blob the server's store holds now (local files, or S3 objects)."""
    url = server.env.get("LFP_STORAGE_URL", "")
    if not url.startswith("s3://"):
        root = server.data_dir / "blobs"
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    bucket = url.removeprefix("s3://").partition("/")[0]
    client = boto3.client("s3", endpoint_url=server.env["LFP_S3_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_an_upload_of_a_file_the_user_has_is_completed_at_once(api: httpx.Client) -> None:
    first = _stored(api)
    answer = _declare(api)
    assert answer.status_code == 201, answer.text
    upload = answer.json()
    assert answer.headers["Location"] == f"/api/v1/uploads/{upload['id']}"
    assert upload["state"] == "completed" and upload["deduplicated"] is True
    assert upload["file_id"] not in (None, first["id"]) and upload["job_id"] is None
    assert upload["bytes_received"] == len(DATA) == upload["size"]
    assert upload["received"] == list(range(upload["chunk_count"])) == [0, 1, 2, 3]

    file = api.get(f"/files/{upload['file_id']}").json()
    assert file["state"] == "ready"
    assert (file["filename"], file["content_type"]) == ("again.csv", "text/csv")
    assert (file["size"], file["sha256"], file["md5"]) == (
        first["size"],
        first["sha256"],
        first["md5"],
    )
    assert download_sha256(api, file["id"]) == hashlib.sha256(DATA).hexdigest()
    ranged = api.get(f"/files/{file['id']}/content", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == DATA[10:20]

    # Reading it again, and completing it (the client's next step), give the same file.
    assert api.get(f"/uploads/{upload['id']}").json() == upload
    for _ in range(2):
        done = api.post(f"/uploads/{upload['id']}/complete")
        assert done.status_code == 202, done.text
        assert done.json() == {"file_id": upload["file_id"], "job_id": None}
    assert api.delete(f"/uploads/{upload['id']}").status_code == 409


def test_a_processor_on_a_deduplicated_upload_runs_on_the_new_file(api: httpx.Client) -> None:
    _stored(api)
    bad = _declare(api, processor="hash", params={"algorithms": ["crc"]})
    assert bad.status_code == 422, bad.text
    upload = _declare(api, processor="hash", params={"algorithms": ["md5", "sha256"]}).json()
    assert upload["deduplicated"] is True and upload["job_id"] is not None
    done = api.post(f"/uploads/{upload['id']}/complete").json()
    assert done == {"file_id": upload["file_id"], "job_id": upload["job_id"]}
    job = wait_for_job(api, upload["job_id"])
    assert job["state"] == "succeeded", job
    assert job["file_id"] == upload["file_id"]
    assert job["result"]["digests"] == {
        "md5": hashlib.md5(DATA).hexdigest(),
        "sha256": hashlib.sha256(DATA).hexdigest(),
    }


def test_another_users_identical_file_does_not_match(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    _stored(other_api)
    _open(_declare(api))


def test_only_a_ready_file_of_the_same_size_and_sha256_matches(api: httpx.Client) -> None:
    _stored(api)
    _open(_declare(api, size=len(DATA) + 1))
    other = hashlib.sha256(b"other").hexdigest()
    _open(_declare(api, checksum=f"sha256:{other}"))
    _open(_declare(api, checksum=f"md5:{hashlib.md5(DATA).hexdigest()}"))
    _open(_declare(api, checksum=None))
    # A deferred length cannot be compared.
    _open(_declare(api, size=None))


def test_a_failed_file_does_not_match(api: httpx.Client) -> None:
    data = b"failed file bytes"
    wrong = f"sha256:{hashlib.sha256(b'something else').hexdigest()}"
    response = api.post(
        "/uploads", json={"filename": "f.bin", "size": len(data), "checksum": wrong}
    )
    upload = _open(response)
    assert api.put(f"/uploads/{upload['id']}/chunks/0", content=data).status_code == 204
    file_id = api.post(f"/uploads/{upload['id']}/complete").json()["file_id"]
    failed = wait_for_file(api, file_id)
    assert failed["state"] == "failed" and failed["sha256"] == hashlib.sha256(data).hexdigest()
    _open(_declare(api, data))


def test_a_verifying_file_does_not_match(api: httpx.Client, server_database: sa.Engine) -> None:
    first = _stored(api)
    # Held as if a live verifier were at it: recovery leaves a file with a live lease alone.
    hold = (
        "UPDATE files SET state = 'verifying', verify_claim = :claim, "
        "verify_lease_until = :until WHERE id = :id"
    )
    file_id = uuid.UUID(first["id"])
    until = "2999-01-01 00:00:00"
    with server_database.begin() as connection:
        connection.execute(
            sa.text(hold).bindparams(
                sa.bindparam("id", type_=sa.Uuid()), sa.bindparam("claim", type_=sa.Uuid())
            ),
            {"id": file_id, "claim": uuid.uuid4(), "until": until},
        )
    try:
        _open(_declare(api))
    finally:
        release = "UPDATE files SET state = 'ready', verify_claim = NULL WHERE id = :id"
        with server_database.begin() as connection:
            connection.execute(
                sa.text(release).bindparams(sa.bindparam("id", type_=sa.Uuid())), {"id": file_id}
            )
    assert _declare(api).json()["deduplicated"] is True


def test_deleting_linked_files_keeps_the_bytes_until_the_last_goes(
    api: httpx.Client, server: Server
) -> None:
    data = DATA[: CHUNK + 77] + b"own bytes of this test"
    before = blob_keys(server)
    first = _stored(api, data)
    blobs = blob_keys(server) - before
    assert blobs, "the stored file's blob should be in the store"
    second = _declare(api, data).json()["file_id"]
    third = _declare(api, data, filename="third.bin").json()["file_id"]
    assert blob_keys(server) - before == blobs, "a link stores no new blob"

    assert api.delete(f"/files/{first['id']}").status_code == 204
    assert api.get(f"/files/{first['id']}").status_code == 404
    for file_id in (second, third):
        assert download_sha256(api, file_id) == hashlib.sha256(data).hexdigest()
    ranged = api.get(f"/files/{third}/content", headers={"Range": "bytes=-5"})
    assert ranged.status_code == 206 and ranged.content == data[-5:]
    assert blobs <= blob_keys(server)

    # A new upload still links to what is left.
    fourth = _declare(api, data).json()
    assert fourth["deduplicated"] is True
    for file_id in (second, fourth["file_id"]):
        assert api.delete(f"/files/{file_id}").status_code == 204
    assert download_sha256(api, third) == hashlib.sha256(data).hexdigest()
    assert api.delete(f"/files/{third}").status_code == 204
    assert not blobs & blob_keys(server), "the last file's bytes should be gone"
    # Nothing is left to link to: the next upload is an ordinary one.
    _open(_declare(api, data))


def test_parallel_deletes_of_linked_files_remove_the_bytes_once(
    api: httpx.Client, server: Server
) -> None:
    data = b"deleted in parallel " * 1000
    before = blob_keys(server)
    first = _stored(api, data)
    blobs = blob_keys(server) - before
    ids = [first["id"]] + [_declare(api, data).json()["file_id"] for _ in range(3)]
    with ThreadPoolExecutor(len(ids)) as pool:
        codes = list(pool.map(lambda i: api.delete(f"/files/{i}").status_code, ids))
    assert codes == [204] * len(ids)
    assert not blobs & blob_keys(server)


def test_a_link_made_while_its_source_is_deleted_keeps_the_bytes(
    api: httpx.Client, server: Server, server_database: sa.Engine, backend: str
) -> None:
    """The delete waits for the link holding the source row, then sees the new row."""
    if not backend.startswith("postgres"):
        pytest.skip("SQLite runs one writer at a time: the two cannot interleave")
    data = b"linked while deleted " * 1000
    source = _stored(api, data)
    linked = uuid.uuid4()
    copy = (
        "INSERT INTO files (id, owner_id, filename, content_type, size, state, sha256, md5, "
        "storage_key, created_at) SELECT CAST(:new AS uuid), owner_id, 'linked.bin', "
        "content_type, size, state, sha256, md5, storage_key, created_at FROM files "
        "WHERE id = CAST(:source AS uuid)"
    )
    deleted: list[int] = []
    with server_database.connect() as link:
        link.begin()
        # What a link does: lock the source row, then add a row naming the same blob.
        lock = "SELECT id FROM files WHERE id = CAST(:source AS uuid) FOR UPDATE"
        link.execute(sa.text(lock), {"source": source["id"]})
        link.execute(sa.text(copy), {"new": str(linked), "source": source["id"]})
        worker = threading.Thread(
            target=lambda: deleted.append(api.delete(f"/files/{source['id']}").status_code)
        )
        worker.start()
        wait_until(
            lambda: _waiting_on_a_lock(server_database), 60, "the delete to wait for the link"
        )
        link.commit()
    worker.join(timeout=60)
    assert deleted == [204]
    assert download_sha256(api, str(linked)) == hashlib.sha256(data).hexdigest()


def _waiting_on_a_lock(server_database: sa.Engine) -> bool:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE '%FROM files%'"
    )
    with server_database.connect() as connection:
        return bool(connection.execute(sa.text(query)).scalar_one())


# -- quota ---------------------------------------------------------------------------

QUOTA = 10 * MiB


@pytest.fixture(scope="module")
def quota_server(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server whose users may hold 10 MiB."""
    return start_module_server(backend, LFP_USER_QUOTA_BYTES=str(QUOTA))


def test_a_linked_file_counts_toward_the_quota(quota_server: Server) -> None:
    data = b"q" * (6 * MiB)
    with sign_up(quota_server.url) as user:
        _stored(user, data)
        refused = _declare(user, data)
        assert refused.status_code == 507, refused.text
        assert "of your quota are left" in refused.json()["detail"]
        small = b"s" * MiB
        _stored(user, small)
        linked = _declare(user, small).json()
        assert linked["deduplicated"] is True
        # 8 MiB held, the link counting as any file: 3 MiB more do not fit (7 would).
        more = user.post("/uploads", json={"filename": "more.bin", "size": 3 * MiB})
        assert more.status_code == 507, more.text
        assert f"only {2 * MiB} bytes (2 MiB) of your quota are left" in more.json()["detail"]


def test_deleting_an_account_removes_the_blobs_its_linked_files_share(
    server: Server, api: httpx.Client
) -> None:
    data = b"held by an account that goes " * 1000
    before = blob_keys(server)
    with sign_up(server.url) as doomed:
        _stored(doomed, data)
        blobs = blob_keys(server) - before
        assert _declare(doomed, data).json()["deduplicated"] is True
        # Another user's identical bytes are stored on their own and outlive the account.
        kept = _stored(api, data)
        me = doomed.get("/auth/me").json()["id"]
        with sign_in_admin(server) as admin:
            assert admin.delete(f"/admin/users/{me}").status_code == 204
    assert not blobs & blob_keys(server)
    assert download_sha256(api, kept["id"]) == hashlib.sha256(data).hexdigest()
