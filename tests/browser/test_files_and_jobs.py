"""The files, jobs and job pages in the browser: the list of stored files with their
digests, downloads and deletion; running a processor from it; a job's live progress,
result, CSV preview, bad-row report and cancel; and that nobody sees another's data.

Data goes in through the API with the page's own cookie (and CSRF token), not the upload
page.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, FilePayload, Locator, Page, expect

from tests.browser.conftest import assert_accessible, new_page, sign_up
from tests.helpers import Server, gate_params, wait_until

Snapshot = Callable[[Page, str], Path]
JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")
PLAYS = (
    b"Song,Date,Number of Plays\r\n"
    b'"Hey, Jude",2024-01-02,3\r\n'
    b'"Say ""Hi""",2024-01-01,1\r\n'
    b'"Hey, Jude",2024-01-01,2\r\n'
    b'"Hey, Jude",2024-01-02,4\r\n'
)


def _csrf(page: Page) -> dict[str, str]:
    """The header a change needs: the session's CSRF token from its cookie."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "lfp_csrf")
    return {"X-CSRF-Token": token}


def store(page: Page, data: bytes, filename: str, **query: str) -> dict[str, Any]:
    """Store `data` as the page's user with the one-shot upload; the file JSON."""
    payload: FilePayload = {"name": filename, "mimeType": "text/plain", "buffer": data}
    answer = page.context.request.post(
        "/api/v1/files",
        params=dict[str, str | float | bool](query),
        multipart={"file": payload},
        headers=_csrf(page),
    )
    assert answer.status == 201, answer.text()
    file: dict[str, Any] = answer.json()
    return file


def job_of(page: Page, job_id: str) -> dict[str, Any]:
    """The job as the API shows it to the page's user."""
    answer = page.context.request.get(f"/api/v1/jobs/{job_id}")
    assert answer.status == 200, answer.text()
    job: dict[str, Any] = answer.json()
    return job


def ended(page: Page, job_id: str) -> dict[str, Any]:
    """The job once it has ended."""

    def done() -> dict[str, Any] | None:
        job = job_of(page, job_id)
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None

    return wait_until(done, 60, f"job {job_id} to end")


def shots(page: Page, snapshot: Snapshot, name: str) -> None:
    """Screenshots of the page at 1280 and 390 pixels wide (and back to 1280)."""
    snapshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    snapshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def fact(page: Page, term: str) -> Locator:
    """The description of `term` in the job page's facts."""
    return page.locator("#job-facts dt", has_text=term).locator("xpath=following-sibling::dd[1]")


def no_failed_loads(errors: list[str]) -> None:
    """Forget the browser's log of refused calls (the API answering 4xx, as intended)."""
    errors[:] = [e for e in errors if "Failed to load resource" not in e]


def test_files_list_download_and_delete(signed_in: Page, snapshot: Snapshot) -> None:
    page = signed_in
    data = bytes(range(256)) * 6  # 1.5 KiB
    file = store(page, data, "notes.bin")
    page.goto("/files")
    row = page.get_by_role("row").filter(has_text="notes.bin")
    expect(row).to_contain_text("1.5 KiB")
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text(hashlib.sha256(data).hexdigest())
    expect(row).to_contain_text(hashlib.md5(data).hexdigest())
    assert_accessible(page)
    shots(page, snapshot, "files")

    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "notes.bin"
    assert Path(download.value.path()).read_bytes() == data

    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete notes.bin?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep")).to_be_focused()
    page.keyboard.press("Enter")  # Keep: nothing happens
    expect(dialog).to_be_hidden()
    expect(row).to_be_visible()

    row.get_by_role("button", name="Delete").click()
    assert_accessible(page)
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted notes.bin.")
    expect(row).to_have_count(0)
    expect(page.get_by_text("You have no files yet.")).to_be_visible()
    assert page.context.request.get(f"/api/v1/files/{file['id']}").status == 404


def test_run_hash_from_the_files_page_and_watch_it(
    signed_in: Page, snapshot: Snapshot, console_errors: list[str]
) -> None:
    page = signed_in
    data = b"hash me, please\n" * 1000
    store(page, data, "hash-me.txt")
    page.goto("/files")
    row = page.get_by_role("row").filter(has_text="hash-me.txt")
    row.get_by_role("button", name="Run a processor").click()
    dialog = page.get_by_role("dialog", name="Run a processor on hash-me.txt")
    dialog.get_by_label("Processor").select_option("hash")
    params = dialog.get_by_label("Params (JSON)")
    assert json.loads(params.input_value()) == {"algorithms": ["sha256"]}
    params.fill('{"algorithms": ["nope"]}')
    dialog.get_by_role("button", name="Run").click()
    expect(dialog.get_by_role("alert")).to_contain_text("algorithms")
    no_failed_loads(console_errors)
    assert_accessible(page)
    snapshot(page, "run-dialog")

    params.fill('{"algorithms": ["sha256", "md5"]}')
    dialog.get_by_role("button", name="Run").click()
    page.wait_for_url(JOB_URL)
    expect(page.locator("#job-progress-text")).to_contain_text("100 %")
    expect(page.get_by_label("Progress")).to_have_attribute("aria-valuetext", "100 %")
    expect(fact(page, "State")).to_have_text("succeeded")
    expect(fact(page, "File")).to_have_text("hash-me.txt Download")
    sha256 = hashlib.sha256(data).hexdigest()
    expect(page.locator("#job-result")).to_contain_text(sha256)
    expect(page.locator("#job-result")).to_contain_text(hashlib.md5(data).hexdigest())
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()
    assert_accessible(page)
    shots(page, snapshot, "job")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download checksums.txt").click()
    checksums = Path(download.value.path()).read_text()
    assert f"SHA256 (hash-me.txt) = {sha256}" in checksums

    job_id = page.url.rsplit("/", 1)[1]
    page.goto("/jobs")
    link = page.get_by_role("link", name=f"hash job {job_id[:8]}")
    job_row = page.get_by_role("row").filter(has=link)
    expect(job_row).to_contain_text("succeeded")
    expect(job_row).to_contain_text("100 %")
    expect(job_row).to_contain_text("hash-me.txt")
    assert_accessible(page)
    shots(page, snapshot, "jobs")
    link.click()
    page.wait_for_url(re.compile(f"/jobs/{job_id}$"))


def test_a_csv_output_is_previewed_and_a_bad_row_is_named(
    signed_in: Page, snapshot: Snapshot
) -> None:
    page = signed_in
    # Enough songs for an output over the 64 KiB the preview reads: it shows 20 rows.
    many = "".join(f"Song {n:04},2024-01-01,1\r\n" for n in range(4000)).encode()
    good = store(page, PLAYS + many, "plays.csv", processor="song-plays")
    page.goto(f"/jobs/{good['job_id']}")
    expect(fact(page, "State")).to_have_text("succeeded")
    assert job_of(page, good["job_id"])["outputs"][0]["size"] > 65536
    preview = page.get_by_role("table", name="First 20 rows of song-plays.csv")
    expect(preview.get_by_role("columnheader")).to_have_text(
        ["Song", "Date", "Total Number of Plays for Date"]
    )
    rows = preview.locator("tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.nth(0)).to_have_text("Hey, Jude2024-01-012")
    expect(rows.nth(1)).to_have_text("Hey, Jude2024-01-027")
    expect(rows.nth(2)).to_have_text('Say "Hi"2024-01-011')
    expect(rows.nth(19)).to_have_text("Song 00162024-01-011")
    assert_accessible(page)
    shots(page, snapshot, "csv-preview")

    bad = b"Song,Date,Number of Plays\nA,2024-01-01,1\nB,2024-01-01,lots\n"
    failing = store(page, bad, "bad.csv", processor="song-plays")
    page.goto(f"/jobs/{failing['job_id']}")
    expect(fact(page, "State")).to_have_text("failed")
    error = job_of(page, failing["job_id"])["error"]
    expect(page.locator("#job-error-text")).to_have_text(error)
    where = page.get_by_role("table", name="Where the input is wrong")
    expect(where.locator("tbody td").nth(0)).to_have_text("3")
    expect(where.locator("tbody td").nth(1)).to_have_text("Number of Plays")
    expect(page.locator("#job-outputs")).to_be_hidden()
    assert_accessible(page)
    shots(page, snapshot, "bad-row")


def test_cancel_a_running_job_from_its_page(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    file = store(page, b"gate input", "gate.bin")
    body = {"file_id": file["id"], "processor": "test-gate", "params": gate_params(tmp_path)}
    answer = page.context.request.post("/api/v1/jobs", data=body, headers=_csrf(page))
    assert answer.status == 202, answer.text()
    job_id = answer.json()["id"]
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#job-progress-text")).to_have_text("50 % (1 of 2 steps)")  # live
    expect(fact(page, "State")).to_have_text("running")
    cancel = page.get_by_role("button", name="Cancel job")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(fact(page, "State")).to_have_text("cancelled")
    expect(page.get_by_role("status")).to_have_text("The job was cancelled.")
    expect(cancel).to_be_hidden()
    assert ended(page, job_id)["state"] == "cancelled"


def test_another_user_sees_none_of_it(
    signed_in: Page, browser: Browser, web: Server, console_errors: list[str]
) -> None:
    file = store(signed_in, b"private bytes", "private.txt", processor="hash")
    ended(signed_in, file["job_id"])
    other = new_page(browser, web, console_errors)
    try:
        sign_up(other)
        other.goto("/files")
        expect(other.get_by_text("You have no files yet.")).to_be_visible()
        expect(other.get_by_text("private.txt")).to_have_count(0)
        other.goto("/jobs")
        expect(other.get_by_text("No jobs to show.")).to_be_visible()
        other.goto(f"/jobs/{file['job_id']}")
        expect(other.get_by_role("alert")).to_have_text(f"no job {file['job_id']}")
        expect(other.locator("#job")).to_be_hidden()
        assert_accessible(other)
    finally:
        other.context.close()
    no_failed_loads(console_errors)
