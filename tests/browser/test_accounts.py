"""Accounts in the browser: sign up, sign in, sign out, the session cookie and CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, new_email, sign_up
from tests.helpers import PASSWORD


def test_sign_up_sign_out_and_sign_in_through_the_forms(
    page: Page, snapshot: Callable[[Page, str], Path]
) -> None:
    page.goto("/signup")
    assert_accessible(page)
    snapshot(page, "signup")
    email = sign_up(page)
    expect(page.get_by_text(email)).to_be_visible()
    expect(page.get_by_role("heading", name="Upload")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin$"))
    page.goto("/files")  # signed out: sent to sign in, and back afterwards
    page.wait_for_url(re.compile(r"/signin\?next=%2Ffiles$"))
    assert_accessible(page)
    snapshot(page, "signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/files$"))
    expect(page.get_by_role("heading", name="Files")).to_be_visible()


def test_form_errors_show_the_apis_detail(page: Page, console_errors: list[str]) -> None:
    email = sign_up(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Wrong password 1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("email or password is wrong")

    page.goto("/signup")
    page.get_by_label("Email").fill(new_email())
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
    # The browser logs each refused call as a failed resource load: that is the API
    # answering, not the page failing.
    console_errors[:] = [e for e in console_errors if "Failed to load resource" not in e]


def test_the_session_cookie_is_httponly_and_changes_need_the_csrf_token(page: Page) -> None:
    sign_up(page)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session, csrf = cookies["lfp_session"], cookies["lfp_csrf"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert not csrf["httpOnly"]  # the pages read it to send it back
    assert "lfp_session" not in page.evaluate("document.cookie")

    request = page.context.request
    body = {"filename": "x.bin", "size": 10}
    refused = request.post("/api/v1/uploads", data=body)
    assert refused.status == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = request.post("/api/v1/uploads", data=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status == 403
    allowed = request.post("/api/v1/uploads", data=body, headers={"X-CSRF-Token": csrf["value"]})
    assert allowed.status == 201, allowed.text()
    assert request.get("/api/v1/auth/me").json()["email"]  # reading needs no token

    signed_out = request.delete(
        "/api/v1/auth/browser-session", headers={"X-CSRF-Token": csrf["value"]}
    )
    assert signed_out.status == 204
    assert request.get("/api/v1/auth/me").status == 401
