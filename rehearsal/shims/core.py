"""What every shim shares: the request, the emulator's answer as data, the unit type."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/"
)


@dataclass(frozen=True)
class Gap:
    """One place where the emulator differs from AWS, and what the rehearsal does about it."""

    resource: str
    call: str
    emulator: str
    handling: str


def credential_scope(environ: Mapping[str, Any]) -> tuple[str, str]:
    """(region, service) from a SigV4 Authorization header; ("", "") if unsigned."""
    match = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if match is None:
        return "", ""
    return match["region"], match["service"]


def read_body(environ: Environ) -> bytes:
    """The request body, left readable again for whoever reads it next."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class Request:
    """One request to the emulator: what the shims route on."""

    def __init__(self, environ: Environ) -> None:
        self.environ = environ
        self.region, self.service = credential_scope(environ)
        self.target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        self.path = str(environ.get("PATH_INFO", ""))
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        self.query = str(environ.get("QUERY_STRING", ""))

    def body(self) -> bytes:
        return read_body(self.environ)

    def json(self) -> Any:
        return json.loads(self.body() or b"{}")


@dataclass
class Reply:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")

    def with_body(self, document: Any) -> Reply:
        return Reply(self.status, self.headers, json.dumps(document).encode())


def json_reply(document: Mapping[str, Any]) -> Reply:
    """200 with a JSON-protocol document."""
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    return Reply("200 OK", headers, body)


def rest_json_reply(
    status: str, document: Mapping[str, Any], extra: list[tuple[str, str]] | None = None
) -> Reply:
    """A REST-JSON protocol answer (Lambda, X-Ray)."""
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return Reply(status, [*headers, *(extra or [])], body)


def send(start_response: StartResponse, reply: Reply) -> list[bytes]:
    # A patched body would fail DynamoDB's x-amz-crc32 check; the header is optional.
    headers = [
        (k, v) for k, v in reply.headers if k.lower() not in ("content-length", "x-amz-crc32")
    ]
    headers.append(("Content-Length", str(len(reply.body))))
    start_response(reply.status, headers)
    return [reply.body]


def json_environ(environ: Environ, region: str, target: str) -> Environ:
    """`environ` turned into a JSON-protocol call of `target` in `region` (a follow-up call)."""
    authorization = _CREDENTIAL_SCOPE.sub(
        lambda m: m[0].replace(f"/{m['region']}/", f"/{region}/"),
        str(environ.get("HTTP_AUTHORIZATION", "")),
    )
    return {
        **environ,
        "HTTP_X_AMZ_TARGET": target,
        "HTTP_AUTHORIZATION": authorization,
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
    }


class Emulator:
    """The emulator behind the shims, called with a request and collected as a Reply."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def forward(self, environ: Environ, body: bytes | None = None) -> Reply:
        """Call the emulator with `environ` (and a replaced body) and collect its answer."""
        if body is not None:
            environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        chunks = self.app(environ, start)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return Reply(captured["status"], captured["headers"], payload)


class Counts:
    """How often each shimmed call was answered or completed (the rehearsal's figures)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_name: dict[str, int] = {}

    def add(self, name: str) -> None:
        with self._lock:
            self.by_name[name] = self.by_name.get(name, 0) + 1


# The rest of the shims and then the emulator, for a request a shim has claimed.
Forward = Callable[[Request], Reply]


class Shim:
    """One emulator gap's handling: claims the requests it concerns and answers them.

    `answer` may call `forward` (the shims after it, then the emulator) for the
    same request, and `self.emulator` directly for follow-up calls of its own;
    None from `answer` passes the request on untouched.
    """

    gap: ClassVar[Gap]

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        self.emulator = emulator
        self.counts = counts
        self.lock = threading.Lock()

    def claims(self, request: Request) -> bool:
        raise NotImplementedError

    def answer(self, request: Request, forward: Forward) -> Reply | None:
        raise NotImplementedError
