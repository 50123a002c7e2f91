"""Local API Gateway stand-in: HTTP requests become REST proxy events (format 1.0)
for the same handler functions the Lambdas run; their answers become HTTP responses.

Routing mirrors the deployed API: each route of contract.ROUTES goes to its own
function (by path and method); another method of a known path goes to the
function of the path's first route, whose handler answers 405; unknown paths
go to a handler too, which answers 404. `/openapi.json`
serves the API document (local mode only).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote

import handlers
from handlers import auth, contract
from handlers.api import LambdaHandler, match_path
from handlers.logs import get_logger
from local_api.auth import LocalGate

OPENAPI_PATH = Path(handlers.__file__).resolve().parent / contract.OPENAPI_FILENAME
# API Gateway REST's payload limit; the handlers enforce their own, smaller one.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
# A request (line, headers, body) must arrive within this many seconds of its first
# byte, and an idle connection is closed after as long (`--read-timeout`).
DEFAULT_READ_TIMEOUT_SECONDS = 10.0
# http.server's limits: a request or header line of 64 KiB, 100 header lines.
MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
# RFC 9110/9112: a method or field name is a token; a field value is visible
# characters, spaces and tabs; a Content-Length is digits and nothing else.
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_LENGTH = re.compile(r"[0-9]+")
MALFORMED_HEADER_LINE = "malformed header line (a field name, a colon, then the value)"
_log = get_logger()


@dataclass(frozen=True)
class LocalContext:
    """The parts of the Lambda context object handlers may read."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    deadline_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def owning_function(path: str, method: str) -> str | None:
    """The function the deployed API routes this request to, if the path is known:
    the route's own function for a (path, method) of the contract, else the function
    of the path's first route (the deployed path's ANY method), whose handler answers 405."""
    matched = match_path(path)
    if matched is None:
        return None
    routes = [route for route in contract.ROUTES if route.path == matched[0]]
    return next((route.function for route in routes if route.method == method), routes[0].function)


def build_event(
    *,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload format 1.0) for one HTTP request."""
    target, _, query_string = raw_path.partition("?")
    path = unquote(target) or "/"
    matched = match_path(path)
    resource, path_params = matched if matched is not None else (path, None)
    query = parse_qs(query_string, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "stage": "local",
            "requestId": request_id,
            "resourcePath": resource,
            "httpMethod": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": multi_headers.get("User-Agent", [None])[-1],
            },
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


# The contract's code for a status local mode's HTTP layer answers itself. Any other
# (400 malformed request, 408 too slow, 414 URI too long, 431 header fields too
# large, 505 HTTP version) refuses what the client sent: `bad_request`, as the
# deployed API's DEFAULT_4XX response names API Gateway's own refusals.
_CODES: dict[HTTPStatus, str] = {
    HTTPStatus.LENGTH_REQUIRED: contract.ERROR_LENGTH_REQUIRED,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: contract.ERROR_TOO_LARGE,
}


def _code(status: HTTPStatus) -> str:
    return _CODES.get(status, contract.ERROR_BAD_REQUEST)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # 32+ clients connect at once in the load test; the default backlog is 5.
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        handlers_by_function: Mapping[str, LambdaHandler],
        read_timeout: float,
    ) -> None:
        self.handlers_by_function = dict(handlers_by_function)
        self.openapi = OPENAPI_PATH.read_bytes()
        self.read_timeout = read_timeout
        self.gate: LocalGate | None = None
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request or mid-response (load tools do) is one
        quiet log line, not a traceback; anything else keeps http.server's report."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            _log.info(
                "client disconnected",
                extra={"fields": {"client": client_address[0], "error": type(error).__name__}},
            )
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _Server

    def __getattr__(self, name: str) -> Any:
        """`do_<METHOD>` for every method: the handler answers 405/404 as the deployed
        API's ANY routes do (http.server would answer 501 for methods it lacks)."""
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)

    def handle_one_request(self) -> None:
        """One request, read by the rules of RFC 9112 rather than http.server's lenient
        parser (which dropped a malformed header line and every one after it), within
        the server's read timeout: a connection that sends nothing for that long is
        closed, a request that has begun and is not complete by then is answered 408."""
        self.requestline, self.request_version, self.command = "", "HTTP/1.1", ""
        self._answering = False
        timeout = self.server.read_timeout
        self.connection.settimeout(timeout)
        try:
            if not self._reader.peek(1):
                self.close_connection = True
                return
        except TimeoutError:
            self.close_connection = True
            return
        self._deadline = time.monotonic() + timeout
        try:
            raw_line = self._read_line()
            if len(raw_line) > MAX_LINE_BYTES:
                self.send_error(414)
            elif not raw_line:
                self.close_connection = True
            elif self.parse_request_line(raw_line) and self.parse_headers():
                getattr(self, "do_" + self.command)()
                self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
            if not self._answering:
                self.send_error(408, f"the request did not arrive within {timeout:g} s")

    @property
    def _reader(self) -> io.BufferedReader:
        # StreamRequestHandler's rfile is buffered (rbufsize -1): peek and read1 exist.
        return cast(io.BufferedReader, self.rfile)

    def _arm(self) -> None:
        """Give the next read what is left of the request's time."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("read timeout")
        self.connection.settimeout(remaining)

    def _read_line(self) -> bytes:
        """One line with its terminator; longer than MAX_LINE_BYTES means too long.
        Each socket read gets only the time left, so trickling bytes buys no time."""
        parts: list[bytes] = []
        size = 0
        while size <= MAX_LINE_BYTES:
            self._arm()
            data = self._reader.peek(1)
            if not data:
                break
            end = data.find(b"\n")
            take = end + 1 if end >= 0 else len(data)
            parts.append(self._reader.read(take))
            size += take
            if end >= 0:
                break
        return b"".join(parts)

    def _read_body(self, length: int) -> bytes | None:
        """The body, or None when the client closed the connection before sending it."""
        chunks: list[bytes] = []
        left = length
        while left:
            self._arm()
            chunk = self._reader.read1(min(left, 65536))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def parse_request_line(self, raw_line: bytes) -> bool:
        """`METHOD SP target SP HTTP/1.x`; False once an error is sent."""
        line = _without_terminator(raw_line)
        self.requestline = line.decode("latin-1")
        parts = line.split(b" ")
        if len(parts) != 3 or not all(parts) or not _TOKEN.fullmatch(parts[0]):
            self.send_error(400, "malformed request line")
            return False
        method, target, version = parts
        matched = _VERSION.fullmatch(version)
        if matched is None:
            self.send_error(400, "malformed request line")
            return False
        if matched.group(1) != b"1":
            self.send_error(505, f"{version.decode()} is not supported: use HTTP/1.1")
            return False
        if method != method.upper():
            self.send_error(
                400, f"methods are upper case: {method.upper().decode()}, not {method.decode()}"
            )
            return False
        self.command = method.decode("ascii")
        self.request_version = version.decode("ascii")
        self.close_connection = matched.group(2) == b"0"
        path = target.decode("latin-1")
        # As http.server does (gh-87389): '//host' must not read as a network path.
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        return True

    def parse_headers(self) -> bool:
        """Header lines up to the empty one, each `name: value`; False once an error
        is sent (or the client left)."""
        fields = self._read_fields()
        if fields is None:
            return False
        self.headers = message = http.client.HTTPMessage()
        for name, value in fields:
            message[name] = value
        problem = self._header_problem([name.lower() for name, _ in fields], message)
        if problem:
            self.send_error(400, problem)
            return False
        connection = message.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = message.get("Expect", "").lower()
        if expect == "100-continue" and self.request_version != "HTTP/1.0":
            return self.handle_expect_100()
        return True

    def _read_fields(self) -> list[tuple[str, str]] | None:
        """(name, value) of each header line; None once an error is sent (or the client left)."""
        fields: list[tuple[str, str]] = []
        while True:
            raw = self._read_line()
            if len(raw) > MAX_LINE_BYTES:
                self.send_error(431, "Line too long")
                return None
            if not raw:
                self.close_connection = True
                return None
            line = _without_terminator(raw)
            if not line:
                return fields
            if len(fields) >= MAX_HEADERS:
                self.send_error(431, "Too many headers")
                return None
            raw_name, colon, raw_value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(raw_name):
                self.send_error(400, MALFORMED_HEADER_LINE)
                return None
            raw_value = raw_value.strip(b" \t")
            if not _FIELD_VALUE.fullmatch(raw_value):
                self.send_error(400, "malformed header value")
                return None
            fields.append((raw_name.decode("ascii"), raw_value.decode("latin-1")))

    def _header_problem(self, names: list[str], message: http.client.HTTPMessage) -> str:
        """What makes the request's headers a 400, or "" (`names`: lower-cased, in order)."""
        for name in contract.SINGLE_VALUED_HEADERS:
            if names.count(name.lower()) > 1:
                return f"header {name} must be given at most once"
        if self.request_version != "HTTP/1.0" and "host" not in names:
            return "an HTTP/1.1 request needs a Host header"
        length = message.get("Content-Length")
        if length is not None and not _LENGTH.fullmatch(length):
            return "invalid Content-Length"
        return ""

    def log_message(self, format: str, *args: Any) -> None:
        """The handlers write one JSON access log per request; stay quiet here."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, 501 method...) as JSON too."""
        self.close_connection = True
        status = HTTPStatus(code)
        self._send(
            code,
            {"Content-Type": "application/json", "Connection": "close"},
            json.dumps(
                {"error": {"code": _code(status), "message": message or status.description}},
                separators=(",", ":"),
            ).encode(),
        )

    def _proxy(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.send_error(411, "send a Content-Length, not a chunked body")
            return
        length = int(self.headers.get("Content-Length") or 0)  # digits: parse_headers
        if length > GATEWAY_MAX_BODY_BYTES:
            self.send_error(413, "request body too large")
            return
        body = self._read_body(length)
        if body is None:
            self.close_connection = True
            return
        raw_path = self.path
        if raw_path.partition("?")[0] == "/openapi.json":
            self._openapi()
            return
        event = build_event(
            method=self.command,
            raw_path=raw_path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        refusal = self.server.gate.admit(event) if self.server.gate is not None else None
        if refusal is not None:
            self._send(*refusal)
            return
        function = owning_function(event["path"], self.command) or next(
            iter(self.server.handlers_by_function)
        )
        context = LocalContext(
            function_name=function,
            aws_request_id=str(uuid.uuid4()),
            deadline_ms=int(time.time() * 1000) + contract.API_GATEWAY_TIMEOUT_SECONDS * 1000,
        )
        try:
            result = self.server.handlers_by_function[function](event, context)
            status = int(result["statusCode"])
            out_headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
            payload = result.get("body") or ""
            data = (
                base64.b64decode(payload)
                if result.get("isBase64Encoded")
                else str(payload).encode("utf-8")
            )
        except Exception:  # noqa: BLE001 - API Gateway's answer to a failed integration
            _log.exception("handler failed", extra={"fields": {"function": function}})
            # As the deployed API answers it: 502 through its DEFAULT_5XX response.
            status, out_headers = 502, {"Content-Type": "application/json"}
            data = json.dumps(
                {"error": {"code": contract.ERROR_UNAVAILABLE, "message": "Internal server error"}},
                separators=(",", ":"),
            ).encode()
        self._send(status, out_headers, data)

    def _openapi(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self._send(
                405,
                {"Content-Type": "application/json", "Allow": "GET"},
                b'{"error":{"code":"method_not_allowed","message":"use GET"}}',
            )
            return
        self._send(200, {"Content-Type": "application/json"}, self.server.openapi)

    def _send(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        # The request is read: the answer gets the whole timeout to be written.
        self._answering = True
        self.connection.settimeout(self.server.read_timeout)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _without_terminator(line: bytes) -> bytes:
    """A line without its CRLF (or the bare LF RFC 9112 lets a server accept)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line.removesuffix(b"\n")


class LocalApi:
    """The local API server. `port=0` binds a free port; `start()` serves in a thread."""

    def __init__(
        self,
        handlers_by_function: Mapping[str, LambdaHandler],
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        poll_interval: float = 0.05,
        read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
    ) -> None:
        # Binding happens here: a port in use raises OSError before anything else starts.
        self._server = _Server((host, port), handlers_by_function, read_timeout)
        self.host = host
        # How often the serving loop looks for stop() (stop() waits up to this long).
        self.poll_interval = poll_interval
        self._thread: threading.Thread | None = None

    def set_handlers(self, handlers_by_function: Mapping[str, LambdaHandler]) -> None:
        """Set the functions once their configuration is known (the socket is bound first)."""
        self._server.handlers_by_function = dict(handlers_by_function)

    def set_gate(self, gate: LocalGate) -> None:
        """Authenticate as the deployed API does (settings `api.auth`); /openapi.json
        then shows the security scheme."""
        self._server.gate = gate
        document = auth.secured_document(json.loads(OPENAPI_PATH.read_bytes()), gate.mode)
        self._server.openapi = json.dumps(document, indent=2).encode()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=self.poll_interval)

    def start(self) -> LocalApi:
        self._thread = threading.Thread(target=self.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
