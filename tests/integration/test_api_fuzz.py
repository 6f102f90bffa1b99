"""Property-based requests generated from the live OpenAPI schema: never a 500.

Runs schemathesis' own command line against the real server (its pytest plugin does not
support this pytest yet).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import Server, sign_up


def test_no_generated_request_makes_the_server_fail(server: Server, tmp_path: Path) -> None:
    with sign_up(server.url) as api:
        authorization = str(api.headers["Authorization"])
    st = Path(sys.executable).parent / "st"
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: {authorization}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
