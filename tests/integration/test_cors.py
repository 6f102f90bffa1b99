"""CORS against real servers: pages on an allowed origin may send every header the browser
upload clients send (tus-js-client, Uppy, Dropzone.js, lfp's own API) and read every header
lfp answers with; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.helpers import Server, sign_up, wait_for_file

ORIGIN = "http://app.example"
SOME_ID = "6f1c2a8e-0d4b-4c6e-9a7f-3b2d1e0c9a8b"  # preflights name no real upload or file
# What the clients send: tus-js-client (X-Request-ID from its `addRequestId` option,
# X-HTTP-Method-Override from `overridePatchMethod`), Uppy's XHR upload and Dropzone.js,
# and lfp's native chunk and download API.
SENT = (
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Offset",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Checksum",
    "Content-Type",
    "X-HTTP-Method-Override",
    "X-Request-ID",
    "Authorization",
    "X-Requested-With",
    "Cache-Control",
    "Content-Digest",
    "Range",
    "If-Range",
    "If-None-Match",
)
# What a page's script must be able to read.
EXPOSED = (
    "Retry-After",
    "ETag",
    "Content-Range",
    "Content-Disposition",
    "Accept-Ranges",
    "Location",
    "WWW-Authenticate",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Defer-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Upload-Concat",
    "Upload-Checksum",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Lfp-File-Id",
    "Lfp-Job-Id",
)


@pytest.fixture(scope="module")
def cors_server(backend: str, start_module_server: Callable[..., Server]) -> Server:
    """A server that lets pages of ORIGIN call it."""
    return start_module_server(backend, LFP_CORS_ALLOWED_ORIGINS=ORIGIN)


def listed(response: httpx.Response, header: str) -> set[str]:
    """The lower-cased names a comma-separated CORS header lists."""
    return {name.strip().lower() for name in response.headers.get(header, "").split(",")}


def assert_readable(response: httpx.Response) -> None:
    """A page of ORIGIN may read `response` and every header lfp answers with."""
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = listed(response, "Access-Control-Expose-Headers")
    assert {name.lower() for name in EXPOSED} <= exposed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/tus/"),
        ("PATCH", f"/api/v1/tus/{SOME_ID}"),
        ("POST", "/api/v1/dropzone"),
        ("POST", "/api/v1/dropzone/finalize"),
        ("PUT", f"/api/v1/uploads/{SOME_ID}/chunks/0"),
        ("GET", f"/api/v1/files/{SOME_ID}/content"),
    ],
)
def test_a_preflight_allows_every_header_the_browser_clients_send(
    cors_server: Server, method: str, path: str
) -> None:
    preflight = httpx.options(
        f"{cors_server.url}{path}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ",".join(name.lower() for name in SENT),
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method.lower() in listed(preflight, "Access-Control-Allow-Methods")
    allowed = listed(preflight, "Access-Control-Allow-Headers")
    assert [name for name in SENT if name.lower() not in allowed] == []


def test_other_origins_get_no_permission(cors_server: Server) -> None:
    preflight = httpx.options(
        f"{cors_server.url}/api/v1/tus/",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "tus-resumable",
        },
    )
    assert preflight.status_code == 400
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_answers_and_errors_expose_every_header_lfp_sends(cors_server: Server) -> None:
    page = {"Origin": ORIGIN}
    with sign_up(cors_server.url) as api:
        created = api.post(
            "/tus/", headers={**page, "Tus-Resumable": "1.0.0", "Upload-Length": "3"}
        )
        assert created.status_code == 201, created.text
        assert_readable(created)
        assert created.headers["Location"] and created.headers["Upload-Expires"]

        stored = api.post("/files", files={"file": ("a.txt", b"hello cors", "text/plain")})
        assert stored.status_code == 201, stored.text
        file_id = stored.json()["id"]
        wait_for_file(api, file_id)
        part = api.get(f"/files/{file_id}/content", headers={**page, "Range": "bytes=0-4"})
        assert part.status_code == 206, part.text
        assert_readable(part)
        for name in ("ETag", "Content-Range", "Content-Disposition", "Accept-Ranges"):
            assert part.headers[name]

    # An error a page must read too: Dropzone's 401 before any token is checked.
    refused = httpx.post(f"{cors_server.url}/api/v1/dropzone", headers=page)
    assert refused.status_code == 401
    assert_readable(refused)
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"] == refused.json()["detail"]
