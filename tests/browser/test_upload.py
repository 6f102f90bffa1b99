"""The upload page in the browser: Uppy's dashboard over tus, resuming after a reload (the
file restored by itself, or selected again), errors and retries, a processor with its
params form, accessibility and the keyboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Request, Route, expect

from tests.browser.conftest import assert_accessible, forget_failed_loads, new_page, sign_up
from tests.helpers import MiB, Server, file_sha256, random_file, wait_until

UPLOAD_TIMEOUT = 90.0  # seconds for a file to become ready


def file_input(page: Page) -> Locator:
    """Uppy's hidden file input (not the folder one)."""
    return page.locator("input.uppy-Dashboard-input[name='files[]']:not([webkitdirectory])").first


def upload_button(page: Page) -> Locator:
    """The dashboard's button that starts the upload."""
    return page.get_by_role("button", name="Upload", exact=True)


def add_files(page: Page, *paths: Path) -> None:
    """Add files through the dashboard's file input, and see them listed."""
    expect(page.locator(".uppy-Dashboard")).to_be_visible()
    file_input(page).set_input_files([str(p) for p in paths])
    for path in paths:
        expect(page.locator(".uppy-Dashboard-Item-name", has_text=path.name)).to_be_visible()


def uploaded_item(page: Page, name: str) -> Locator:
    """The line of the "Uploaded" list naming `name`."""
    return page.locator("#uploaded li", has_text=name)


def ready_file(page: Page, name: str) -> dict[str, Any] | None:
    """The signed-in user's file named `name` once it is ready (fails if it failed)."""
    answer = page.context.request.get("/api/v1/files", params={"per_page": 100})
    assert answer.ok, answer.text()
    for item in answer.json()["items"]:
        if item["filename"] == name:
            assert item["state"] != "failed", item
            return item if item["state"] == "ready" else None
    return None


def wait_ready(page: Page, path: Path) -> dict[str, Any]:
    """Wait until `path`'s upload is a ready file, and check its sha256."""
    found = wait_until(lambda: ready_file(page, path.name), UPLOAD_TIMEOUT, f"{path.name} ready")
    assert found["size"] == path.stat().st_size
    assert found["sha256"] == file_sha256(path)
    return found


def bytes_received(page: Page) -> float:
    """The server's count of the upload bytes it received (GET /metrics)."""
    text = page.context.request.get("/metrics").text()
    match = re.search(r"^lfp_bytes_received_total ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, "lfp_bytes_received_total is missing from /metrics"
    return float(match.group(1))


def limit_uploads(page: Page, bytes_per_second: int) -> Callable[[], None]:
    """Slow the page's uploads to `bytes_per_second`; returns what lifts the limit."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    conditions = {"offline": False, "latency": 0, "downloadThroughput": -1}

    def set_limit(limit: int) -> None:
        cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": limit})

    set_limit(bytes_per_second)
    return lambda: set_limit(-1)


def test_a_50_mib_file_uploads_and_is_ready_with_its_sha256(
    signed_in: Page, web: Server, tmp_path: Path, snapshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((web.url, "data:", "blob:")) else elsewhere.append(r.url)
        ),
    )
    page.reload()
    path = random_file(tmp_path / "fifty.bin", 50 * MiB, seed=50)
    small = random_file(tmp_path / "small.bin", 1000, seed=51)
    add_files(page, path, small)
    upload_button(page).click()
    expect(uploaded_item(page, path.name)).to_be_visible(timeout=UPLOAD_TIMEOUT * 1000)
    expect(uploaded_item(page, small.name)).to_be_visible()
    expect(
        uploaded_item(page, path.name).get_by_role("link", name="see it in Files")
    ).to_have_attribute("href", "/files")
    found = wait_ready(page, path)
    wait_ready(page, small)
    assert uploaded_item(page, path.name).get_attribute("data-file-id") == found["id"]
    snapshot(page, "uploaded")
    assert elsewhere == [], f"the page called other hosts: {elsewhere}"


STORED_BLOBS = """() => new Promise((resolve) => {
  const opened = indexedDB.open("uppy-blobs");
  opened.onerror = () => resolve(0);
  opened.onsuccess = () => {
    const db = opened.result;
    if (!db.objectStoreNames.contains("files")) return resolve(0);
    const count = db.transaction(["files"], "readonly").objectStore("files").count();
    count.onsuccess = () => resolve(count.result);
    count.onerror = () => resolve(0);
  };
})"""


def test_an_upload_goes_on_after_a_reload_without_sending_it_all_again(
    signed_in: Page,
    tmp_path: Path,
    snapshot: Callable[[Page, str], Path],
    console_errors: list[str],
) -> None:
    page = signed_in
    size = 96 * MiB
    path = random_file(tmp_path / "resumed.bin", size, seed=96)
    unlimit = limit_uploads(page, 16 * MiB)
    add_files(page, path)
    # Golden Retriever keeps a copy of the file in IndexedDB, to bring it back after a reload.
    wait_until(lambda: page.evaluate(STORED_BLOBS) == 1, 20, "the file's copy in IndexedDB")
    upload_button(page).click()
    progress = page.locator(".uppy-StatusBar-progress")
    expect(progress).to_have_attribute("aria-valuenow", re.compile(r"^[3-7]\d$"), timeout=60_000)
    expect(page.locator("#progress-details")).to_contain_text(re.compile(r"MiB/s · .+ left"))
    snapshot(page, "half-way")
    unlimit()
    before = bytes_received(page)
    page.reload()
    # Golden Retriever brings the file back, and the upload goes on by itself.
    expect(page.locator(".uppy-Dashboard-Item-name", has_text=path.name)).to_be_visible()
    expect(uploaded_item(page, path.name)).to_be_visible(timeout=UPLOAD_TIMEOUT * 1000)
    wait_ready(page, path)
    sent_after = bytes_received(page) - before
    assert 0 < sent_after < size * 0.75, f"{sent_after} bytes sent again of {size}"
    # The PATCH cut by the reload may still be appending when the new one comes: the server
    # stops it and answers the new one 409 with the offset, and tus goes on from there.
    forget_failed_loads(console_errors, "409")


PROBLEM = "your storage quota (1.0 GiB) is used up: delete files or ask for more"


def refuse_creation(route: Route, request: Request) -> None:
    """Answer a tus creation as the server does when the quota is full."""
    if request.method != "POST":
        route.continue_()
        return
    route.fulfill(
        status=507,
        headers={"Tus-Resumable": "1.0.0"},
        content_type="application/problem+json",
        body=json.dumps({"title": "Insufficient Storage", "status": 507, "detail": PROBLEM}),
    )


def test_a_refused_upload_shows_the_apis_detail_and_can_be_retried(
    signed_in: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    page = signed_in
    page.route("**/api/v1/tus/", refuse_creation)
    path = random_file(tmp_path / "refused.bin", 2000, seed=5)
    add_files(page, path)
    upload_button(page).click()
    expect(page.locator("#problem")).to_have_text(f"{path.name}: {PROBLEM}")
    page.unroute("**/api/v1/tus/")
    page.get_by_role("button", name="Retry upload").first.click()
    expect(uploaded_item(page, path.name)).to_be_visible()
    expect(page.locator("#problem")).to_be_hidden()
    wait_ready(page, path)
    # The browser logs the refused call as a failed resource load: that is the API
    # answering, not the page failing.
    console_errors[:] = [e for e in console_errors if "Failed to load resource" not in e]


def pick(page: Page, processor: str) -> Locator:
    """Pick `processor` and wait for its params form; returns the form."""
    page.get_by_label("Processor to run on each file").select_option(processor)
    form = page.locator("#params-form")
    expect(form.get_by_text(f"Params of {processor}")).to_be_visible()
    return form


def test_invalid_params_show_the_schemas_message_and_block_the_upload(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    form = pick(page, "forward")
    attempts = form.get_by_label("Max Attempts")
    attempts.fill("99")
    attempts.press("Tab")
    expect(form.get_by_text(re.compile("at most 20"))).to_be_visible()
    add_files(page, random_file(tmp_path / "refused.bin", 1000, seed=2))
    upload_button(page).click()
    expect(page.locator("#problem")).to_contain_text("Fix the params of forward")
    expect(page.locator("#problem")).to_contain_text("at most 20")
    expect(page.locator(".uppy-StatusBar.is-uploading")).to_have_count(0)
    assert page.context.request.get("/api/v1/files").json()["total"] == 0


def test_a_processor_with_params_runs_and_its_job_is_linked(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    form = pick(page, "hash")
    expect(form.get_by_text("Algorithms", exact=True)).to_be_visible()
    form.locator("select").first.select_option("md5")
    form.get_by_role("button", name="Add Algorithm").click()
    form.locator("select").nth(1).select_option("sha512")
    path = random_file(tmp_path / "hashed.bin", 300_000, seed=3)
    add_files(page, path)
    upload_button(page).click()
    job_link = uploaded_item(page, path.name).get_by_role("link", name="hash job")
    expect(job_link).to_have_attribute("href", re.compile(r"^/jobs/[0-9a-f-]{36}$"))
    wait_ready(page, path)
    job_id = (job_link.get_attribute("href") or "").rsplit("/", 1)[-1]
    job = page.context.request.get(f"/api/v1/jobs/{job_id}").json()
    assert job["processor"] == "hash" and job["params"]["algorithms"] == ["md5", "sha512"]


def tab_to(page: Page, target: Locator, presses: int = 60) -> None:
    """Press Tab until `target` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never got the focus by Tab")


def test_the_page_is_accessible_readable_and_works_by_keyboard(
    signed_in: Page,
    browser: Browser,
    web: Server,
    console_errors: list[str],
    tmp_path: Path,
    snapshot: Callable[[Page, str], Path],
) -> None:
    page = signed_in
    pick(page, "hash")
    assert_accessible(page)
    snapshot(page, "upload-1280")
    tab_to(page, page.locator(".uppy-Dashboard-browse").first)
    add_files(page, random_file(tmp_path / "keyboard.bin", 1000, seed=4))
    assert_accessible(page)
    tab_to(page, upload_button(page))
    page.keyboard.press("Enter")
    expect(uploaded_item(page, "keyboard.bin")).to_be_visible(timeout=30_000)

    narrow = new_page(browser, web, console_errors, width=390)
    try:
        sign_up(narrow)
        pick(narrow, "hash")
        assert_accessible(narrow)
        width = narrow.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide at 390 px"
        snapshot(narrow, "upload-390")
    finally:
        narrow.context.close()


CLEAR_BLOBS = """() => new Promise((resolve) => {
  const opened = indexedDB.open("uppy-blobs");
  opened.onsuccess = () => {
    const cleared = opened.result.transaction(["files"], "readwrite").objectStore("files").clear();
    cleared.onsuccess = () => resolve(true);
  };
})"""


def test_a_file_not_kept_is_selected_again_and_its_upload_goes_on(
    signed_in: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    page = signed_in
    size = 64 * MiB
    path = random_file(tmp_path / "reselected.bin", size, seed=64)
    unlimit = limit_uploads(page, 12 * MiB)
    add_files(page, path)
    wait_until(lambda: page.evaluate(STORED_BLOBS) == 1, 20, "the file's copy in IndexedDB")
    upload_button(page).click()
    progress = page.locator(".uppy-StatusBar-progress")
    expect(progress).to_have_attribute("aria-valuenow", re.compile(r"^[2-7]\d$"), timeout=60_000)
    page.evaluate(CLEAR_BLOBS)  # as when the file was too big to keep
    unlimit()
    before = bytes_received(page)
    page.reload()
    expect(page.get_by_text("Session restored")).to_be_visible()
    expect(upload_button(page)).to_be_disabled()
    page.get_by_role("button", name="Re-select").click()
    file_input(page).set_input_files(str(path))
    upload_button(page).click()
    expect(uploaded_item(page, path.name)).to_be_visible(timeout=UPLOAD_TIMEOUT * 1000)
    wait_ready(page, path)
    sent_after = bytes_received(page) - before
    assert 0 < sent_after < size * 0.85, f"{sent_after} bytes sent again of {size}"
    forget_failed_loads(console_errors, "409")  # as after any reload mid-PATCH (above)


def test_an_upload_survives_a_dropped_network(
    signed_in: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    page = signed_in
    size = 48 * MiB
    path = random_file(tmp_path / "offline.bin", size, seed=48)
    unlimit = limit_uploads(page, 8 * MiB)
    add_files(page, path)
    upload_button(page).click()
    progress = page.locator(".uppy-StatusBar-progress")
    expect(progress).to_have_attribute("aria-valuenow", re.compile(r"^[1-5]\d$"), timeout=60_000)
    page.context.set_offline(True)  # the network goes away mid-upload
    expect(
        page.get_by_text(re.compile("offline|No Internet connection", re.I)).first
    ).to_be_visible()
    page.context.set_offline(False)
    unlimit()
    # tus retries by itself and asks the server where the upload stands: nothing is lost.
    expect(uploaded_item(page, path.name)).to_be_visible(timeout=UPLOAD_TIMEOUT * 1000)
    wait_ready(page, path)
    # The request the network cut, and a PATCH meeting the cut one still appending (409).
    forget_failed_loads(console_errors, "409", "net::ERR_")
