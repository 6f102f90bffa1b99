"""`LfpClient`: typed calls to lfp's HTTP API, with retries, uploads and downloads."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx

from lfp.client.downloader import download, download_output, output_path, refuse_existing
from lfp.client.errors import LfpError, LfpNetworkError
from lfp.client.retry import FIRST_CONTACT, RetryListener, RetryPolicy, call_with_retries
from lfp.client.state import TokenStore
from lfp.client.uploader import upload_file

OnProgress = Callable[[int], None]
# Calls whose 401 means wrong credentials, never an access token to refresh.
_NO_REFRESH = ("/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/auth/refresh")
# Seconds to wait for a TCP connection: a host that drops packets fails quickly too.
CONNECT_TIMEOUT = 10.0


class LfpClient:
    """A connection to one lfp server, optionally signed in with a bearer token.

    With a refresh token, a call answered 401 (the short-lived access token expired) gets
    a new pair from `POST /auth/refresh` and is sent once more. `token_store` keeps the
    pair between processes (the CLI's credentials file); it is re-read, under its lock,
    before refreshing, so processes sharing it never use one refresh token twice (which
    would revoke the session).

    Safe to share between threads: each thread gets its own HTTP connection pool, and
    threads hit by the same expiry share one refresh.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        refresh_token: str | None = None,
        token_store: TokenStore | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.refresh_token = refresh_token
        self.token_store = token_store
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._transport = transport  # None: the network (tests pass httpx.MockTransport)
        self._local = threading.local()
        self._refresh_lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()
        # Whether any answer came from the server in this process: until then a failed
        # connection is a wrong URL or a server not started, not worth `retry`'s patience.
        self.reached = False
        # Hears of retries on an unreachable server (see `RetryListener`): progress bars.
        self.on_retry: RetryListener | None = None

    # -- plumbing ---------------------------------------------------------------------

    def http(self) -> httpx.Client:
        """This thread's HTTP client, with the token set."""
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT)),
                transport=self._transport,
                verify=self._verify(),
            )
            self._local.client = client
        client.headers.pop("Authorization", None)
        if self.token:
            client.headers["Authorization"] = f"Bearer {self.token}"
        return client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request (retried on network errors and 5xx); `LfpError` on a final 4xx.

        A 401 is answered by refreshing the access token and sending the request once more.
        """
        sent = self.token
        try:
            return self._send(method, path, **kwargs)
        except LfpError as exc:
            if exc.status != 401 or path in _NO_REFRESH or not self.reauthenticate(sent):
                raise
        return self._send(method, path, **kwargs)

    def _verify(self) -> ssl.SSLContext | bool:
        """TLS settings for a thread's client: one context shared by all (loading the CA
        bundle per thread is slow), and none to build for plain http."""
        if not self.base_url.startswith("https://"):
            return False
        with self._ssl_lock:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            return self._ssl

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with the retry policy, without refreshing.

        A server never reached in this process gets `FIRST_CONTACT`'s short patience;
        `LfpNetworkError` names the URL tried and whether it was ever reached.
        """

        def send() -> httpx.Response:
            response = self.http().request(method, path, **kwargs)
            self.reached = True
            return response

        reached = self.reached
        policy = self.retry if reached else FIRST_CONTACT
        try:
            return call_with_retries(send, policy, on_retry=self.on_retry if reached else None)
        except LfpNetworkError as exc:
            verb = "lost" if reached else "cannot reach"
            message = f"{verb} the lfp server at {self.base_url} ({exc.reason})"
            raise LfpNetworkError(
                message, url=self.base_url, reason=exc.reason, reached=reached
            ) from exc

    def reauthenticate(self, failed_token: str | None) -> bool:
        """After a 401 to `failed_token`: a fresh access token is set (True), or none can be.

        True at once when another thread (or, through `token_store`, another process)
        already replaced that token. `LfpError` (401) when the refresh token is refused.
        """
        if not failed_token:
            return False
        store = self.token_store
        with self._refresh_lock, store.locked() if store else nullcontext():
            if self.token != failed_token:
                return True
            if store:
                access, refresh = store.load_tokens()
                if access and access != failed_token:
                    self.token, self.refresh_token = access, refresh
                    return True
            if not self.refresh_token:
                return False
            body = {"refresh_token": self.refresh_token}
            self._keep(self._send("POST", "/api/v1/auth/refresh", json=body).json())
            if store and self.token and self.refresh_token:
                store.save_tokens(self.token, self.refresh_token)
            return True

    def _keep(self, tokens: dict[str, Any]) -> None:
        """Use the tokens a login or refresh answered."""
        self.token = str(tokens["access_token"])
        refresh = tokens.get("refresh_token")
        self.refresh_token = str(refresh) if refresh else None

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON body."""
        return self.request(method, path, **kwargs).json()

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """`json` for the endpoints that answer a JSON object, typed as one for callers."""
        result: dict[str, Any] = self.json(method, path, **kwargs)
        return result

    # -- auth -------------------------------------------------------------------------

    def signup(self, email: str, password: str) -> dict[str, Any]:
        """Create an account."""
        body = {"email": email, "password": password}
        return self._object("POST", "/api/v1/auth/signup", json=body)

    def login(self, email: str, password: str) -> str:
        """Sign in; the tokens are kept on this client and the access token returned."""
        body = {"email": email, "password": password}
        self._keep(self.json("POST", "/api/v1/auth/login", json=body))
        assert self.token is not None
        return self.token

    def logout(self) -> None:
        """End this client's session on the server: its tokens stop working."""
        self.request("POST", "/api/v1/auth/logout")
        self.token = self.refresh_token = None

    def change_password(self, current: str, new: str) -> None:
        """Change the password; every session is revoked and this client gets a new one."""
        body = {"current_password": current, "new_password": new}
        self._keep(self.json("POST", "/api/v1/auth/password", json=body))
        if self.token_store and self.token and self.refresh_token:
            self.token_store.save_tokens(self.token, self.refresh_token)

    def me(self) -> dict[str, Any]:
        """The signed-in user."""
        return self._object("GET", "/api/v1/auth/me")

    # -- uploads ----------------------------------------------------------------------

    def create_upload(self, filename: str, size: int | None, **fields: Any) -> dict[str, Any]:
        """Start a chunked upload."""
        body = {"filename": filename, "size": size, **fields}
        return self._object("POST", "/api/v1/uploads", json=body)

    def check_upload(self, filename: str, size: int | None, **fields: Any) -> None:
        """`LfpError` when `create_upload` with these would be refused now; creates nothing."""
        body = {"filename": filename, "size": size, **fields}
        self.request("POST", "/api/v1/uploads/check", json=body)

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        """An upload's state and received chunks."""
        return self._object("GET", f"/api/v1/uploads/{upload_id}")

    def put_chunk(self, upload_id: str, index: int, data: bytes, digest: str | None) -> None:
        """Send one chunk; `digest` is a Content-Digest header value."""
        headers = {"Content-Digest": digest} if digest else {}
        self.request(
            "PUT", f"/api/v1/uploads/{upload_id}/chunks/{index}", content=data, headers=headers
        )

    def complete_upload(self, upload_id: str, checksum: str | None = None) -> dict[str, Any]:
        """Close an upload; returns `{file_id, job_id}`."""
        body = {"checksum": checksum} if checksum else {}
        return self._object("POST", f"/api/v1/uploads/{upload_id}/complete", json=body)

    def abort_upload(self, upload_id: str) -> None:
        """Abort an upload and free its space."""
        self.request("DELETE", f"/api/v1/uploads/{upload_id}")

    def upload_file(self, path: Path, **options: Any) -> dict[str, Any]:
        """Upload `path` in parallel chunks, resuming a previous attempt; the ready file.

        Options are those of `lfp.client.uploader.upload_file`.
        """
        return upload_file(self, path, **options)

    # -- files ------------------------------------------------------------------------

    def get_file(self, file_id: str) -> dict[str, Any]:
        """A file's metadata and state."""
        return self._object("GET", f"/api/v1/files/{file_id}")

    def list_files(
        self, page: int = 1, per_page: int = 20, id_prefix: str | None = None
    ) -> dict[str, Any]:
        """One page of the user's files, newest first; only ids starting `id_prefix` if given."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if id_prefix:
            params["id_prefix"] = id_prefix
        return self._object("GET", "/api/v1/files", params=params)

    def delete_file(self, file_id: str) -> None:
        """Delete a file."""
        self.request("DELETE", f"/api/v1/files/{file_id}")

    def download(
        self,
        file_id: str,
        dest: Path | None = None,
        *,
        progress: OnProgress | None = None,
        overwrite: bool = True,
    ) -> Path:
        """Download a file to `dest` (default: its name, here), resuming a partial copy.

        Without `overwrite`, an existing `dest` is `DestinationExists`.
        """
        return download(self, file_id, dest, progress=progress, overwrite=overwrite)

    # -- jobs -------------------------------------------------------------------------

    def processors(self) -> list[dict[str, Any]]:
        """The processors the server offers, with the JSON schema of their params."""
        result: list[dict[str, Any]] = self.json("GET", "/api/v1/processors")
        return result

    def submit_job(
        self, file_id: str, processor: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Queue `processor` on a stored file; the new job."""
        body = {"file_id": file_id, "processor": processor, "params": params or {}}
        return self._object("POST", "/api/v1/jobs", json=body)

    def get_job(self, job_id: str) -> dict[str, Any]:
        """A job's state, progress, timings, result and outputs."""
        return self._object("GET", f"/api/v1/jobs/{job_id}")

    def list_jobs(
        self,
        page: int = 1,
        per_page: int = 20,
        state: str | None = None,
        id_prefix: str | None = None,
    ) -> dict[str, Any]:
        """One page of the user's jobs, newest first; only ids starting `id_prefix` if given."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if state:
            params["state"] = state
        if id_prefix:
            params["id_prefix"] = id_prefix
        return self._object("GET", "/api/v1/jobs", params=params)

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """Cancel a job; the job as it is now."""
        return self._object("POST", f"/api/v1/jobs/{job_id}/cancel")

    def wait_job(
        self,
        job_id: str,
        *,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        poll_interval: float = 0.5,
    ) -> dict[str, Any]:
        """Poll the job until it ends; `on_update` sees every state on the way."""
        while True:
            job = self.get_job(job_id)
            if on_update:
                on_update(job)
            if job["state"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(poll_interval)

    def download_outputs(
        self,
        job_id: str,
        folder: Path,
        *,
        progress: OnProgress | None = None,
        overwrite: bool = True,
    ) -> list[Path]:
        """Download every output of a job into `folder`; the paths written.

        Without `overwrite`, `DestinationExists` before anything is fetched when any output
        would replace an existing file.
        """
        job = self.get_job(job_id)
        if not overwrite:
            refuse_existing([output_path(o, folder) for o in job["outputs"]])
        return [
            download_output(self, output, folder, progress=progress) for output in job["outputs"]
        ]

    # -- catalogues -------------------------------------------------------------------

    def catalog(self, name: str, **query: Any) -> dict[str, Any]:
        """One page of a catalogue (`titles`, `products`, `products/aggregates`).

        `query` holds the paging, sorting and filter params; None values are left out.
        """
        params = {k: v for k, v in query.items() if v is not None}
        return self._object("GET", f"/api/v1/{name}", params=params)
