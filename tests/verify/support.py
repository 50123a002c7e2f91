"""Helpers for the verify tests: run the CLI in-process, and a tiny stdlib HTTP
server answering whatever a test scripts (wrong shapes, missing headers)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local_api.server import LocalApi
from tests.service.support import STOP_POLL_SECONDS
from verify.cli import main

# (method, path with query) -> (status, headers, body)
Script = Callable[[str, str], tuple[int, dict[str, str], bytes]]


def endpoint_args(regions: Mapping[str, LocalApi | str]) -> list[str]:
    args: list[str] = []
    for region, api in regions.items():
        url = api if isinstance(api, str) else api.url
        args += ["--region-endpoint", f"{region}={url}"]
    return args


def run_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """`pipenv run verify --json ARGS` in-process: exit code and the JSON document
    (stderr stays readable with `capsys.readouterr().err`)."""
    code = main(["--json", *args])
    captured = capsys.readouterr()
    sys.stderr.write(captured.err)
    out = captured.out
    # The in-process handlers write their JSON access logs to stdout too.
    start = out.find('{\n  "passed"')
    return code, json.loads(out[start:]) if start >= 0 else {}


def failures(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["check"], c["scope"], c["detail"]) for c in document["checks"] if c["status"] == "fail"
    ]


def statuses(document: dict[str, Any], check: str) -> dict[str, str]:
    return {c["scope"]: c["status"] for c in document["checks"] if c["check"] == check}


def json_answer(status: int, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, headers, body = self.server.script(self.command, self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        self.script = script
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def scripted_server(script: Script, wrap: Callable[[Any], Any] | None = None) -> Iterator[int]:
    """Serve `script` on a loopback port (optionally TLS via `wrap(socket)`); yields the port."""
    server = _ScriptedServer(script)
    if wrap is not None:
        server.socket = wrap(server.socket)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": STOP_POLL_SECONDS}
    )
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
