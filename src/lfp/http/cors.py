"""CORS for pages on other origins: which headers browsers may send to lfp and read back.

The lists name what the browser upload clients lfp serves actually send, so their own
options work without a custom server: tus-js-client (every tus header, its
`X-HTTP-Method-Override` for `overridePatchMethod`, `X-Request-ID` for `addRequestId`),
Uppy's XHR upload and Dropzone.js (`X-Requested-With`, `Cache-Control`), and lfp's own
native API (`Content-Digest` on chunks; `Range`, `If-Range`, `If-None-Match` on downloads).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

# Headers a page may send (beyond the CORS-safelisted ones, which need no permission).
REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    # tus-js-client
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Offset",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Checksum",
    "X-HTTP-Method-Override",
    "X-Request-ID",
    # Uppy's XHR upload and Dropzone.js
    "X-Requested-With",
    "Cache-Control",
    # lfp's native chunk and download API
    "Content-Digest",
    "Range",
    "If-Range",
    "If-None-Match",
)
# Response headers a page's script may read (beyond the safelisted Content-Type,
# Content-Length, Cache-Control, Expires, Last-Modified...).
RESPONSE_HEADERS = (
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "ETag",
    "Accept-Ranges",
    "Content-Range",
    "Content-Disposition",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Defer-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Upload-Concat",
    "Upload-Checksum",
    "Lfp-File-Id",
    "Lfp-Job-Id",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# How long a browser may reuse a preflight's answer, in seconds.
MAX_AGE = 86400


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Answer preflights from `origins` and expose lfp's headers to their pages.

    Call it last, so the middleware is outermost: preflights are answered before anything
    asks for a token, and every answer (errors too) carries the CORS headers.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=list(METHODS),
        allow_headers=list(REQUEST_HEADERS),
        expose_headers=list(RESPONSE_HEADERS),
        max_age=MAX_AGE,
    )
