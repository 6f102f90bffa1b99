"""A real S3 endpoint for the tests: moto's server mode on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx

from tests.helpers import free_port, wait_until

# moto accepts any credentials; the SDK only has to find some (the standard AWS chain).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "lfp-test",
    "AWS_SECRET_ACCESS_KEY": "lfp-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class MotoServer:
    """`moto_server` in its own process, so its work does not share the tests' GIL."""

    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The endpoint URL to give the S3 client."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it answers."""
        moto = Path(sys.executable).with_name("moto_server")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS},
            )
        wait_until(self._answers, 30, f"moto_server on port {self.port}")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(self.url, timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    def new_bucket(self) -> str:
        """A new, empty bucket's name."""
        name = f"lfp-{uuid.uuid4().hex[:16]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
