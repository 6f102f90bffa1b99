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
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from lfp.limits import RequestLimits

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


def _setting(default: Any, description: str, *, shown: str | None = None, **limits: Any) -> Any:
    """A `Settings` field whose description ends by stating its default.

    The default is stated as `shown` where the value alone would not say it well ("1 TiB",
    "none (…)"), else as the value itself, so that a new default cannot keep an old text.
    """
    stated = _stated(default) if shown is None else shown
    return Field(default=default, description=f"{description} Default: {stated}.", **limits)


def _stated(value: object) -> str:
    """A default as a description states it: `true`, `30` (not 30.0), `lfp-jobs`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Settings(RequestLimits):
    """Every tunable of the service. Each field's description states its default.

    The request limits (`RequestLimits`) are kept in `lfp.limits`.
    """

    model_config = SettingsConfigDict(env_prefix="LFP_", env_file=".env", extra="ignore")

    data_dir: Path = _setting(
        Path("lfp-data"),
        "Folder for the SQLite database, the generated JWT secret and (by default) stored blobs.",
        shown="./lfp-data",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database. Default: SQLite file "
        "<data_dir>/lfp.db in WAL mode. PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    database_pool_size: int = _setting(
        10,
        "PostgreSQL connections each server or worker keeps open while idle; under load it "
        "opens up to 30 more, closed again when done.",
        ge=1,
    )
    storage_url: str | None = Field(
        default=None,
        description="Where blobs live. Default: the local folder <data_dir>/blobs. "
        "A file:///abs/path URL names another local folder; s3://bucket/optional/prefix an "
        "S3-compatible bucket (credentials from the standard AWS chain: AWS_ACCESS_KEY_ID "
        "and AWS_SECRET_ACCESS_KEY, profiles, instance roles).",
    )
    s3_endpoint_url: str | None = _setting(
        None,
        "Endpoint of the S3-compatible service (MinIO, Ceph RGW, R2, moto …).",
        shown="AWS S3",
    )
    s3_region: str | None = _setting(
        None, "Region of the bucket.", shown="the AWS chain's default (AWS_REGION)"
    )
    max_upload_size: int = _setting(TiB, "Largest file accepted, in bytes.", shown="1 TiB", gt=0)
    default_chunk_size: int = _setting(
        8 * MiB, "Chunk size when a client does not ask for one.", shown="8 MiB"
    )
    min_chunk_size: int = _setting(
        MIN_CHUNK_SIZE,
        "Smallest chunk size a multi-chunk upload may use.",
        shown="5 MiB",
        ge=MIN_CHUNK_SIZE,
    )
    max_chunk_size: int = _setting(
        256 * MiB, "Largest chunk size an upload may use.", shown="256 MiB"
    )
    upload_expiry_seconds: int = _setting(
        24 * 3600,
        "An upload not completed this long after its last activity is expired and its space "
        "reclaimed.",
        shown="86400 (24 h)",
        gt=0,
    )
    sweep_interval_seconds: float = _setting(
        300.0, "How often the server sweeps expired uploads.", gt=0
    )
    chunk_lease_seconds: float = _setting(
        60.0,
        "How long a chunk (or a tus PATCH) being written stays reserved for its request "
        "without news from it; after that (say the server died mid-chunk) a retry may take "
        "it over.",
        gt=0,
    )
    min_free_bytes: int = _setting(
        1 * GiB,
        "Uploads that would leave less free space than this on the store are refused with 507.",
        shown="1 GiB",
        ge=0,
    )
    user_quota_bytes: int = _setting(
        1024 * GiB,
        "Bytes one user may hold: their files plus what their open uploads reserve (the "
        "declared size, or what arrived so far when none is declared). Past it uploads are "
        "refused with 507 (413 for a file larger than the whole quota); 0 means unlimited.",
        shown="1 TiB (the largest file, LFP_MAX_UPLOAD_SIZE)",
        ge=0,
    )
    user_max_open_uploads: int = _setting(
        100,
        "Uploads one user may have open at once; one more is refused with 507. 0 means unlimited.",
        ge=0,
    )
    db_reserve_bytes: int = _setting(
        16 * MiB,
        "Free space a local store keeps back while a file of unknown size streams in: a "
        "write that would leave less is refused with 507, so that the metadata database on "
        "the same disk can still record the abort.",
        shown="16 MiB",
        ge=0,
    )
    fsync: bool = _setting(
        True,
        "Flush each chunk to disk before acknowledging it, so an acknowledged chunk survives "
        "a power loss.",
    )
    jwt_secret: SecretStr | None = _setting(
        None,
        "Key that signs access tokens.",
        shown="generated on first run and kept in <data_dir>/jwt_secret (mode 0600)",
    )
    token_lifetime_seconds: int = _setting(
        900,
        "Access token lifetime; clients get a new one from POST /auth/refresh.",
        shown="900 (15 min)",
        gt=0,
    )
    refresh_lifetime_seconds: int = _setting(
        30 * 24 * 3600,
        "A sign-in session (its refresh token) expires this long after its last refresh.",
        shown="2592000 (30 days)",
        gt=0,
    )
    login_account_failures: int = _setting(
        5,
        "Failed logins one client address may make for one account before it must wait "
        "(429 with Retry-After); other addresses are not held up.",
        ge=1,
    )
    login_address_failures: int = _setting(
        100,
        "Failed logins one client address may make, whatever the accounts, before it must wait.",
        ge=1,
    )
    login_backoff_seconds: float = _setting(
        60.0,
        "The wait after the limit is reached; it doubles with each further failure.",
        gt=0,
    )
    login_backoff_max_seconds: float = _setting(
        900.0, "The longest wait, however many failures followed.", gt=0
    )
    login_failure_window_seconds: float = _setting(
        3600.0,
        "Failed logins are forgotten this long after the last one (a successful login "
        "forgets the account's at once).",
        gt=0,
    )
    executor: Literal["local", "celery"] | None = _setting(
        None,
        "Where jobs run: `local` (a thread pool inside `lfp serve`) or `celery` (`lfp worker` "
        "processes fed through the broker).",
        shown="celery when broker_url is set, else local",
    )
    broker_url: str | None = _setting(
        None,
        "Celery broker for jobs, `redis://host:6379/0` or `amqp://user:pw@host//`.",
        shown="none (jobs run in the server)",
    )
    job_queue: str = _setting(
        "lfp-jobs",
        "Broker queue the servers send jobs to and `lfp worker` takes them from; several lfp "
        "installations may share one broker with different queues.",
        min_length=1,
        max_length=200,
    )
    job_workers: int = _setting(
        2,
        "Jobs one process runs at once (local executor pool size, and the concurrency of "
        "`lfp worker`).",
        ge=1,
    )
    job_lease_seconds: float = _setting(
        30.0,
        "A running job's worker renews its claim this often times three; a job whose claim "
        "lapses (its worker died) is queued again.",
        gt=0,
    )
    job_max_attempts: int = _setting(
        3,
        "Times a job is started before it is failed for good because its worker kept dying.",
        ge=1,
    )
    job_requeue_seconds: float = _setting(
        300.0,
        "A job still queued this long after it was sent to the executor is sent again (the "
        "broker lost the message).",
        gt=0,
    )
    processor_memory_limit: str = _setting(
        "512MB",
        "Memory one processor's query engine (DuckDB) may use before it spills to disk.",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|KiB|MiB|GiB)$",
    )
    processor_threads: int = _setting(2, "Threads one processor's query engine may use.", ge=1)
    forward_allowed_hosts: Annotated[list[str], NoDecode] = _setting(
        [],
        "Hosts the `forward` processor may send files to, comma-separated (or a JSON list): "
        "`host`, `host:port`, `*.example.com` (its subdomains), IP addresses only exactly. "
        "Matched against the host as written in the URL, never resolved.",
        shown="none (forwarding disabled)",
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = _setting(
        [],
        "Web origins whose pages may call the API from a browser (tus-js-client, Uppy, "
        "Dropzone on another site), comma-separated or a JSON list: `https://app.example.com`, "
        "or `*` for any.",
        shown="none (same origin only)",
    )
    host: str = Field(default="127.0.0.1", description="`lfp serve` bind address.")
    port: int = _setting(8000, "`lfp serve` port.")
    worker_metrics_port: int | None = _setting(
        None,
        "Port on which `lfp worker` serves its Prometheus metrics (`/metrics`, on all interfaces).",
        shown="none (the worker serves no metrics)",
        ge=1,
        le=65535,
    )

    @field_validator("storage_url")
    @classmethod
    def _supported_storage(cls, value: str | None) -> str | None:
        if value is None or value.startswith("file:///"):
            return value
        if value.startswith("s3://") and value.removeprefix("s3://").split("/")[0]:
            return value
        raise ValueError("storage URLs are file:///absolute/path or s3://bucket/optional/prefix")

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
    def _login_backoff_capped_above_its_start(self) -> Settings:
        if self.login_backoff_max_seconds < self.login_backoff_seconds:
            raise ValueError("login_backoff_max_seconds must be at least login_backoff_seconds")
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
        """Scratch space for running jobs: outputs, DuckDB's spill, and input copies for
        processors that ask for a path on a store without local files."""
        return self.data_dir / "work"

    @property
    def s3_location(self) -> tuple[str, str] | None:
        """The bucket and key prefix when blobs live on S3, else None."""
        if not self.storage_url or not self.storage_url.startswith("s3://"):
            return None
        bucket, _, prefix = self.storage_url.removeprefix("s3://").partition("/")
        return bucket, prefix

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
