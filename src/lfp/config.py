"""Settings for the lfp service: one object, built once from `LFP_*` variables and `.env`.

Nothing in lfp reads the environment anywhere else: `create_app(settings)` and the CLI build
a `Settings` and hand it down.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

# S3 multipart uploads need every part but the last to be at least 5 MiB; keeping the same
# floor for every store means an upload never depends on which store it lands in.
MIN_CHUNK_SIZE = 5 * MiB

# One entry of the forwarding allow-list: `host`, `*.domain`, `host:port`, an IPv4 address
# (optionally with a port), `[IPv6]` with an optional port, or a bare IPv6 address.
_FORWARD_HOST = re.compile(
    r"^(?:\*\.)?[\w.-]+(?::[0-9]{1,5})?$"
    r"|^\[[0-9a-f:.]+\](?::[0-9]{1,5})?$"
    r"|^[0-9a-f.]*(?::[0-9a-f.]*){2,}$"
)

# A web origin as browsers send it in `Origin`: scheme, host and an optional port.
_ORIGIN = re.compile(
    r"^https?://[\w.-]+(?::[0-9]{1,5})?$"
    r"|^https?://\[[0-9a-f:.]+\](?::[0-9]{1,5})?$"
)


class Settings(BaseSettings):
    """Every tunable of the service. Each field's description states its default."""

    model_config = SettingsConfigDict(env_prefix="LFP_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("lfp-data"),
        description="Folder for the SQLite database, the generated JWT secret and (by default) "
        "stored blobs. Default: ./lfp-data.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database. Default: SQLite file "
        "<data_dir>/lfp.db in WAL mode. PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    storage_url: str | None = Field(
        default=None,
        description="Where blobs live. Default: the local folder <data_dir>/blobs. "
        "A file:///abs/path URL names another local folder.",
    )
    max_upload_size: int = Field(
        default=TiB, gt=0, description="Largest file accepted, in bytes. Default: 1 TiB."
    )
    default_chunk_size: int = Field(
        default=8 * MiB,
        description="Chunk size when a client does not ask for one. Default: 8 MiB.",
    )
    min_chunk_size: int = Field(
        default=MIN_CHUNK_SIZE,
        ge=MIN_CHUNK_SIZE,
        description="Smallest chunk size a multi-chunk upload may use. Default: 5 MiB.",
    )
    max_chunk_size: int = Field(
        default=256 * MiB, description="Largest chunk size an upload may use. Default: 256 MiB."
    )
    upload_expiry_seconds: int = Field(
        default=24 * 3600,
        gt=0,
        description="An upload not completed this long after its last activity is expired and "
        "its space reclaimed. Default: 86400 (24 h).",
    )
    sweep_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often the server sweeps expired uploads. Default: 300.",
    )
    chunk_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a chunk (or a tus PATCH) being written stays reserved for its "
        "request without news from it; after that (say the server died mid-chunk) a retry may "
        "take it over. Default: 60.",
    )
    min_free_bytes: int = Field(
        default=1 * GiB,
        ge=0,
        description="Uploads that would leave less free space than this on the store are "
        "refused with 507. Default: 1 GiB.",
    )
    fsync: bool = Field(
        default=True,
        description="Flush each chunk to disk before acknowledging it, so an acknowledged "
        "chunk survives a power loss. Default: true.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs access tokens. Default: generated on first run and kept "
        "in <data_dir>/jwt_secret (mode 0600).",
    )
    token_lifetime_seconds: int = Field(
        default=7 * 24 * 3600, gt=0, description="Access token lifetime. Default: 604800 (7 days)."
    )
    executor: Literal["local", "celery"] | None = Field(
        default=None,
        description="Where jobs run: `local` (a thread pool inside `lfp serve`) or `celery` "
        "(`lfp worker` processes fed through the broker). Default: celery when broker_url is "
        "set, else local.",
    )
    broker_url: str | None = Field(
        default=None,
        description="Celery broker for jobs, `redis://host:6379/0` or `amqp://user:pw@host//`. "
        "Default: none (jobs run in the server).",
    )
    job_queue: str = Field(
        default="lfp-jobs",
        min_length=1,
        max_length=200,
        description="Broker queue the servers send jobs to and `lfp worker` takes them from; "
        "several lfp installations may share one broker with different queues. "
        "Default: lfp-jobs.",
    )
    job_workers: int = Field(
        default=2,
        ge=1,
        description="Jobs one process runs at once (local executor pool size, and the "
        "concurrency of `lfp worker`). Default: 2.",
    )
    job_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running job's worker renews its claim this often times three; a job "
        "whose claim lapses (its worker died) is queued again. Default: 30.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Times a job is started before it is failed for good because its worker "
        "kept dying. Default: 3.",
    )
    job_requeue_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A job still queued this long after it was sent to the executor is sent "
        "again (the broker lost the message). Default: 300.",
    )
    processor_memory_limit: str = Field(
        default="512MB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|KiB|MiB|GiB)$",
        description="Memory one processor's query engine (DuckDB) may use before it spills to "
        "disk. Default: 512MB.",
    )
    processor_threads: int = Field(
        default=2, ge=1, description="Threads one processor's query engine may use. Default: 2."
    )
    forward_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Hosts the `forward` processor may send files to, comma-separated (or a "
        "JSON list): `host`, `host:port`, `*.example.com` (its subdomains), IP addresses only "
        "exactly. Matched against the host as written in the URL, never resolved. "
        "Default: none (forwarding disabled).",
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Web origins whose pages may call the API from a browser (tus-js-client, "
        "Uppy, Dropzone on another site), comma-separated or a JSON list: "
        "`https://app.example.com`, or `*` for any. Default: none (same origin only).",
    )
    host: str = Field(default="127.0.0.1", description="`lfp serve` bind address.")
    port: int = Field(default=8000, description="`lfp serve` port. Default: 8000.")

    @field_validator("storage_url")
    @classmethod
    def _supported_storage(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("file:///"):
            raise ValueError("only file:///absolute/path storage URLs are supported so far")
        return value

    @field_validator("forward_allowed_hosts", "cors_allowed_origins", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # From the environment the list arrives as one string: `a,b:8443` or a JSON list.
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            value = [v.strip().lower() if isinstance(v, str) else v for v in value]
            return [v for v in value if v != ""]
        return value

    @field_validator("forward_allowed_hosts")
    @classmethod
    def _valid_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _FORWARD_HOST.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not a host, host:port or *.domain "
                    "(no scheme, path or user: LFP_FORWARD_ALLOWED_HOSTS=files.example.com,"
                    "*.backup.example.com:8443)"
                )
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _valid_origins(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*" and not _ORIGIN.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not a web origin (scheme://host[:port], no path: "
                    "LFP_CORS_ALLOWED_ORIGINS=https://app.example.com,http://localhost:3000)"
                )
        return value

    @model_validator(mode="after")
    def _chunk_sizes_consistent(self) -> Settings:
        if not self.min_chunk_size <= self.default_chunk_size <= self.max_chunk_size:
            raise ValueError(
                "chunk sizes must satisfy min_chunk_size <= default_chunk_size <= max_chunk_size"
            )
        return self

    @model_validator(mode="after")
    def _celery_needs_broker(self) -> Settings:
        if self.executor == "celery" and not self.broker_url:
            raise ValueError("executor celery needs broker_url (LFP_BROKER_URL)")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lfp.db').resolve()}"

    @property
    def resolved_executor(self) -> Literal["local", "celery"]:
        """The executor in use: the configured one, else celery exactly when a broker is set."""
        if self.executor is not None:
            return self.executor
        return "celery" if self.broker_url else "local"

    @property
    def work_dir(self) -> Path:
        """Scratch space for running jobs (inputs fetched from remote stores, outputs)."""
        return self.data_dir / "work"

    @property
    def blob_dir(self) -> Path:
        """The local folder that holds blobs when no other store is configured."""
        if self.storage_url:
            return Path(self.storage_url.removeprefix("file://"))
        return self.data_dir / "blobs"


def load_or_create_jwt_secret(settings: Settings) -> str:
    """The signing key: from settings, else the one persisted in the data dir, else a new one."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    path = settings.data_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once on a new data dir, one secret wins for both.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with open(fd, "w") as f:
        f.write(secret)
    return secret
