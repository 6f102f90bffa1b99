"""The `forward` processor: send a stored file to another server over HTTP.

The target must be on the operator's allow-list (`LFP_FORWARD_ALLOWED_HOSTS`), so users
cannot make the service reach arbitrary, say internal, hosts. The list is matched against
the host as written in the URL, at submit time and again when the job runs, without DNS:
an operator who lists a name trusts whatever that name resolves to.

A job may run more than once (a replaced worker), and a network error after the body went
out is retried, so the target may receive the same file twice: PUT, the default, makes that
harmless; a POST target should deduplicate, e.g. by the `Repr-Digest` sent with every copy.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

import lfp
from lfp.config import Settings
from lfp.http.content_digest import format_sha256
from lfp.processors.base import JobContext, Processor, ProcessorError

log = logging.getLogger(__name__)

BLOCK = 1 << 20
MAX_BACKOFF_SECONDS = 60.0
ERROR_BODY_CHARS = 500
DEFAULT_PORTS = {"http": 80, "https": 443}
# Framing and hop-by-hop headers are the processor's (or the connection's) business: a
# user-supplied Content-Length or Repr-Digest would contradict the bytes actually sent.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "repr-digest",
        "content-digest",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")  # httpx sends header values as ASCII
# Statuses that say "try again later" rather than "this request is wrong".
RETRY_4XX = frozenset({408, 429})


class ForwardParams(BaseModel):
    """Where and how to send the file."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2048,
        description="http(s) URL to send the file to; its host must be on the server's "
        "allow-list (LFP_FORWARD_ALLOWED_HOSTS). Redirects are not followed.",
        examples=["https://files.example.com/incoming/report.csv"],
    )
    method: Literal["PUT", "POST"] = Field(
        default="PUT", description="HTTP method.", examples=["POST"]
    )
    headers: dict[str, str] = Field(
        default={},
        max_length=50,
        description="Extra request headers, e.g. Authorization or Content-Type (default "
        "application/octet-stream). Framing headers (Content-Length, Repr-Digest, …) are "
        "set by lfp. Stored with the job, so visible in it.",
        examples=[{"Authorization": "Bearer <token>"}],
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Tries on network errors, 5xx, 408 and 429.",
        examples=[3],
    )
    retry_delay_seconds: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="Wait before the first retry; doubled for each later one (at most 60 s).",
        examples=[2.0],
    )
    timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Longest wait for the target to connect, take a block or answer.",
        examples=[300.0],
    )

    @field_validator("url")
    @classmethod
    def _allowed_url(cls, value: str, info: ValidationInfo) -> str:
        settings = (info.context or {}).get("settings")
        if not isinstance(settings, Settings):
            raise ValueError(
                "cannot check the URL without the server's settings "
                "(LFP_FORWARD_ALLOWED_HOSTS); validate with context={'settings': settings}"
            )
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in DEFAULT_PORTS or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        if url.port is not None and not 0 < url.port < 65536:
            raise ValueError(f"not a valid URL: port {url.port} is out of range")
        if url.userinfo:
            raise ValueError("must not carry a user or password; send an Authorization header")
        _check_allowed(url, settings.forward_allowed_hosts)
        return str(url)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name} is set by lfp itself and cannot be given")
            if not HEADER_VALUE.fullmatch(text):
                raise ValueError(f"header {name} must be printable ASCII, without line breaks")
        return value


def _check_allowed(url: httpx.URL, allowed: list[str]) -> None:
    """Raise ValueError unless `url`'s host and port match an allow-list entry."""
    if not allowed:
        raise ValueError(
            "forwarding is disabled on this server: its operator enables it by listing the "
            "allowed target hosts in LFP_FORWARD_ALLOWED_HOSTS"
        )
    host = url.raw_host.decode("ascii")  # lower-case, IDNs in their xn-- form
    port = url.port or DEFAULT_PORTS[url.scheme]
    if not any(_matches(host, port, entry) for entry in allowed):
        raise ValueError(
            f"host {_display(host, port)} is not on this server's forwarding allow-list "
            "(LFP_FORWARD_ALLOWED_HOSTS)"
        )


def _matches(host: str, port: int, entry: str) -> bool:
    """Whether `host`:`port` from a URL is allowed by one allow-list `entry`."""
    entry_host, entry_port = _split_entry(entry)
    if entry_port is not None and entry_port != port:
        return False
    address = _ip(host)
    if address is not None:
        # An IP address only matches itself: "*.0.0.1" must not let 127.0.0.1 through.
        return address == _ip(entry_host)
    try:  # the same normalisation as the URL's host got: lower case, IDNA
        entry_host = httpx.URL(f"http://{entry_host.removeprefix('*.')}/").raw_host.decode()
    except httpx.InvalidURL:
        return False  # e.g. an over-long label: no URL can have that host
    if entry.startswith("*."):
        return host.endswith("." + entry_host)
    return host == entry_host


def _split_entry(entry: str) -> tuple[str, int | None]:
    """An entry's host and port (None: any port); Settings checked the entry's syntax."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, None


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class _Answer:
    """What the target said to one attempt."""

    status: int
    body: str
    location: str | None

    def describe(self) -> str:
        """The answer as an error message quotes it: status, redirect target, body."""
        text = f"HTTP {self.status}"
        if self.location:
            text += f" to {self.location}"
        return f"{text}: {self.body}" if self.body else text


class ForwardProcessor(Processor):
    """Streams the file to an allowed URL with its sha256 (RFC 9530 `Repr-Digest`)."""

    name = "forward"
    description = "Sends the file to an allowed http(s) URL (PUT or POST) with its digest."
    Params = ForwardParams

    def run(self, job: JobContext, params: ForwardParams) -> dict[str, Any]:
        """Hash the file, then send it, retrying on network errors and 5xx."""
        started = time.monotonic()
        # lfp verified the stored file with its sha256: no second read just for the digest.
        digest = bytes.fromhex(job.input_sha256) if job.input_sha256 else _sha256(job)
        headers = httpx.Headers(
            {"Content-Type": "application/octet-stream", "User-Agent": f"lfp/{lfp.__version__}"}
        )
        headers.update(params.headers)  # case-insensitive: the user's Content-Type wins
        # Set explicitly: without it httpx would send the streamed body chunked.
        headers["Content-Length"] = str(job.input_size)
        headers["Repr-Digest"] = format_sha256(digest)
        status, attempts = _send_with_retries(job, params, headers)
        return {
            "url": params.url,
            "method": params.method,
            "status": status,
            "attempts": attempts,
            "bytes": job.input_size,
            "seconds": round(time.monotonic() - started, 3),
            "sha256": digest.hex(),
        }


def _sha256(job: JobContext) -> bytes:
    """The input's sha256; its reading is the first half of the job's progress."""
    hasher = hashlib.sha256()
    done = 0
    with job.open_input() as source:
        while block := source.read(BLOCK):
            job.check_cancelled()
            hasher.update(block)
            done += len(block)
            job.progress(done, 2 * job.input_size)
    return hasher.digest()


def _body(job: JobContext) -> Iterator[bytes]:
    """The input in blocks, never whole in memory.

    Sending is the second half of the job's progress when the first was hashing, else all.
    """
    hashed = 0 if job.input_sha256 else job.input_size
    sent = 0
    with job.open_input() as source:
        while sent < job.input_size and (block := source.read(min(BLOCK, job.input_size - sent))):
            job.check_cancelled()  # raised inside httpx, which then drops the connection
            yield block
            sent += len(block)
            job.progress(hashed + sent, hashed + job.input_size)


def _send_with_retries(
    job: JobContext, params: ForwardParams, headers: httpx.Headers
) -> tuple[int, int]:
    """The target's success status and the attempts it took; ProcessorError otherwise."""
    woken = threading.Event()
    job.on_cancel(woken.set)  # so a cancel cuts a backoff wait short
    last = ""
    # Never follow redirects: the new location was not checked against the allow-list.
    with httpx.Client(timeout=params.timeout_seconds, follow_redirects=False) as client:
        for attempt in range(1, params.max_attempts + 1):
            if attempt > 1:
                woken.wait(_backoff(params.retry_delay_seconds, attempt - 1))
                job.check_cancelled()
            try:
                answer = _send_once(client, job, params, headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("forward to %s, attempt %d: %s", _for_log(params.url), attempt, last)
                continue
            if 200 <= answer.status < 300:
                return answer.status, attempt
            if answer.status >= 500 or answer.status in RETRY_4XX:
                last = answer.describe()
                log.warning("forward to %s, attempt %d: %s", _for_log(params.url), attempt, last)
                continue
            raise ProcessorError(_refusal(params, answer))
    raise ProcessorError(
        f"{params.method} {params.url} failed {params.max_attempts} times; last: {last}"
    )


def _for_log(url: str) -> str:
    """`url` without its query, which may hold a credential (a presigned URL's signature)."""
    return url.partition("?")[0]


def _backoff(first: float, retry: int) -> float:
    """Seconds to wait before retry number `retry` (1, 2, …): doubling, capped."""
    return float(min(first * 2 ** (retry - 1), MAX_BACKOFF_SECONDS))


def _send_once(
    client: httpx.Client, job: JobContext, params: ForwardParams, headers: httpx.Headers
) -> _Answer:
    """One request with the whole file as its body; the answer's status and error text."""
    with client.stream(params.method, params.url, content=_body(job), headers=headers) as reply:
        if 200 <= reply.status_code < 300:
            return _Answer(reply.status_code, "", None)  # its body is of no interest
        return _Answer(reply.status_code, _start_of(reply), reply.headers.get("Location"))


def _start_of(reply: httpx.Response) -> str:
    """The first characters of an error answer's body, read no further (it may be huge)."""
    data = b""
    for block in reply.iter_bytes():
        data += block
        if len(data) >= 4 * ERROR_BODY_CHARS:
            break
    text = " ".join(data.decode("utf-8", errors="replace").split())
    return text[:ERROR_BODY_CHARS]


def _refusal(params: ForwardParams, answer: _Answer) -> str:
    """The job's error for an answer that retrying cannot change."""
    if 300 <= answer.status < 400:
        return (
            f"{params.method} {params.url} answered a redirect ({answer.describe()}); "
            "redirects are not followed, as their target is not checked against the "
            "allow-list: forward to the final URL instead"
        )
    return f"{params.method} {params.url} was refused: {answer.describe()}"
