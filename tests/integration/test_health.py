"""Probes and API docs at the root."""

from __future__ import annotations

import httpx

from tests.helpers import Server


def test_probes_and_docs_answer(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok"}
    docs = httpx.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert "/api/v1/uploads/{upload_id}/chunks/{index}" in paths
    assert "/api/v1/files/{file_id}/content" in paths
