"""A small HTTP client over http.client: one request, a timeout, JSON bodies, no tracebacks.

Every network failure (refused, reset, timeout, TLS, DNS) becomes a
`NetworkError` with a one-line reason; callers turn it into a failed check.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Credentials for an API with settings `api.auth` on, read from the environment
# (never from the command line, where other users' `ps` would show them).
TOKEN_ENV = "EPOCH_API_TOKEN"  # noqa: S105 - the variable's name
API_KEY_ENV = "EPOCH_API_KEY"
API_KEY_HEADER = "x-api-key"


def credentials_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The headers that authenticate verify's requests: a bearer token and/or an API key."""
    headers: dict[str, str] = {}
    if env.get(TOKEN_ENV):
        headers["Authorization"] = f"Bearer {env[TOKEN_ENV].strip()}"
    if env.get(API_KEY_ENV):
        headers[API_KEY_HEADER] = env[API_KEY_ENV].strip()
    return headers


class NetworkError(Exception):
    """The request got no HTTP answer; the message says why, in one line."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float

    def json(self) -> Any:
        """The body as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def describe(exc: BaseException) -> str:
    """A one-line reason for a network failure."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not valid: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"name does not resolve ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text


class Client:
    """Requests against one base URL (scheme, host, port, optional base path)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Mapping[str, str] | None = None,
    ):
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.credentials = dict(credentials or {})

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        anonymous: bool = False,
    ) -> Answer:
        """One request on a fresh connection (with the credentials unless `anonymous`);
        raises NetworkError without an HTTP answer."""
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = {"User-Agent": "epoch-register-verify", "Accept": "application/json"}
        if not anonymous:
            sent.update(self.credentials)
        sent.update(headers or {})
        started = time.perf_counter()
        try:
            connection.request(method, self.base_path + path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            raise NetworkError(f"{method} {self.base_url}{path}: {describe(exc)}") from None
        finally:
            connection.close()
        return Answer(response.status, answer_headers, data, time.perf_counter() - started)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_json(
        self, path: str, body: bytes = b"{}", headers: dict[str, str] | None = None
    ) -> Answer:
        return self.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
