"""local_api.server: HTTP requests become REST proxy events for the real handlers."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from typing import Any

import pytest
import requests

from epoch_constructs.region_frontend.openapi import GATEWAY_RESPONSES
from handlers import contract
from local_api.server import OPENAPI_PATH, LocalApi, build_event, owning_function
from tests.service.clients import connect
from tests.service.support import Service


def test_build_event_has_the_rest_proxy_shape() -> None:
    event = build_event(
        method="GET",
        raw_path="/getEpoch/ab%63?limit=5&x=1&x=2&empty=",
        headers=[("Host", "h"), ("X-Multi", "1"), ("X-Multi", "2")],
        body=b"",
        source_ip="127.0.0.1",
    )
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/getEpoch/abc"
    assert event["resource"] == "/getEpoch/{id}"
    assert event["pathParameters"] == {"id": "abc"}
    assert event["queryStringParameters"] == {"limit": "5", "x": "2", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {
        "limit": ["5"],
        "x": ["1", "2"],
        "empty": [""],
    }
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"]
    assert context["resourcePath"] == "/getEpoch/{id}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"


def test_build_event_base64_encodes_binary_bodies() -> None:
    text = build_event(method="POST", raw_path="/x", headers=[], body=b"{}", source_ip="::1")
    binary = build_event(
        method="POST", raw_path="/x", headers=[], body=b"\xff\x00", source_ip="::1"
    )
    assert (text["body"], text["isBase64Encoded"]) == ("{}", False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\x00"
    assert text["resource"] == "/x"
    assert text["pathParameters"] is None


@pytest.mark.parametrize(
    ("path", "function"),
    [
        ("/EpochRegisterTime", "register"),
        ("/getEpoch", "read"),
        ("/getEpoch/abc", "read"),
        ("/health", "health"),
        ("/nope", None),
    ],
)
def test_paths_go_to_the_function_that_owns_them(path: str, function: str | None) -> None:
    assert owning_function(path, "GET") == function


def test_routes_go_to_their_function_by_path_and_method(monkeypatch: pytest.MonkeyPatch) -> None:
    # A DELETE on /getEpoch/{id} served by a function of its own must reach that
    # function, not the one of the path's first route; a method no route of the path
    # serves still reaches a function of the path (its handler answers 405).
    delete = contract.Route("DELETE", "/getEpoch/{id}", "deleteEpoch", "delete")
    monkeypatch.setattr(contract, "ROUTES", (*contract.ROUTES, delete))
    assert owning_function("/getEpoch/abc", "DELETE") == "delete"
    assert owning_function("/getEpoch/abc", "GET") == "read"
    assert owning_function("/getEpoch/abc", "PATCH") == "read"
    assert owning_function("/getEpoch", "DELETE") == "read"
    statuses = {"read": 200, "delete": 204, "register": 201, "health": 200}

    def answer_as(function: str) -> Any:
        return lambda event, context: {"statusCode": statuses[function], "body": ""}

    api = LocalApi({name: answer_as(name) for name in statuses}, port=0).start()
    try:
        assert requests.delete(api.url + "/getEpoch/abc", timeout=10).status_code == 204
        assert requests.get(api.url + "/getEpoch/abc", timeout=10).status_code == 200
    finally:
        api.stop()


def test_every_function_in_the_contract_owns_a_route() -> None:
    assert {route.function for route in contract.ROUTES} == set(contract.FUNCTION_HANDLERS)


def test_the_openapi_document_is_served(service: Service) -> None:
    response = service.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == OPENAPI_PATH.read_bytes()
    assert service.post("/openapi.json").status_code == 405


def raw_request(
    service: Service,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    connection = connect(service.url)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_head_answers_405_without_a_body(service: Service) -> None:
    status, headers, body = raw_request(service, "HEAD", "/health")
    assert status == 405
    assert headers["Allow"] == "GET"
    assert body == b""


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "OPTIONS", "PUT"])
def test_other_methods_reach_the_handler_and_get_405(service: Service, method: str) -> None:
    status, headers, body = raw_request(service, method, "/EpochRegisterTime")
    assert status == 405
    assert headers["Allow"] == "POST"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["TRACE", "BREW"])
def test_any_method_reaches_the_handler(service: Service, method: str) -> None:
    status, headers, body = raw_request(service, method, "/health")
    assert status == 405
    assert headers["Allow"] == "GET"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"
    assert raw_request(service, method, "/nowhere")[0] == 404


def test_http_server_errors_are_json_too(service: Service) -> None:
    headers = "".join(f"X-H{n}: v\r\n" for n in range(101))
    with socket.create_connection(("127.0.0.1", service.api.port), timeout=10) as raw:
        raw.sendall(f"GET /health HTTP/1.1\r\n{headers}\r\n".encode())
        chunks = []
        while chunk := raw.recv(65536):  # the server closes the connection after an error
            chunks.append(chunk)
    answer = b"".join(chunks).decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 431")
    assert "Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_request"


def raw_exchange(service: Service, request: bytes) -> tuple[str, dict[str, Any]]:
    """Send bytes as they are: the answer's status line ("" for a body alone, as
    http.server answered a request line it could not read as HTTP/1.x) and its JSON body."""
    return raw_exchange_port(service.api.port, request)


def raw_exchange_port(port: int, request: bytes) -> tuple[str, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request)
        chunks = []
        while chunk := raw.recv(65536):  # the server closes the connection after an error
            chunks.append(chunk)
    answer = b"".join(chunks).decode()
    if answer.startswith("{"):
        return "", json.loads(answer)
    head, _, body = answer.partition("\r\n\r\n")
    return head.splitlines()[0], json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", "414", "bad_request"),
        (b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", "431", "bad_request"),
        (
            b"POST /EpochRegisterTime HTTP/1.1\r\nContent-Length: many\r\n\r\n",
            "400",
            "bad_request",
        ),
        # Not HTTP/1.x: answered in HTTP/1.1 all the same (docs/api.md).
        (b"GET\r\n\r\n", "400", "bad_request"),
        (b"GET /health\r\n\r\n", "400", "bad_request"),
        (b"GET /health HTTP/2.0\r\n\r\n", "505", "bad_request"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "505", "bad_request"),
        (b"GET /health HTTP/1\r\nHost: x\r\n\r\n", "400", "bad_request"),
    ],
    ids=[
        "uri-too-long",
        "header-line-too-long",
        "bad-length",
        "no-version",
        "http-0.9",
        "http-2",
        "http-2-preface",
        "bad-version",
    ],
)
def test_every_http_layer_refusal_has_a_contract_code(
    service: Service, request_bytes: bytes, status: str, code: str
) -> None:
    line, body = raw_exchange(service, request_bytes)
    assert line.split()[1:2] == ([status] if status else []), line
    assert body["error"]["code"] == code
    assert code in contract.ERROR_CODES
    assert body["error"]["message"]


def test_http_server_errors_say_what_is_wrong(service: Service) -> None:
    """http.server's own answers (here 414) carry a message, not an empty string."""
    status, _, body = raw_request(service, "GET", "/getEpoch?cursor=" + "a" * 70000)
    assert status == 414
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request"
    assert error["message"] == "URI is too long"


def test_chunked_bodies_are_refused_with_411(service: Service) -> None:
    status, _, body = raw_request(
        service, "POST", "/EpochRegisterTime", headers={"Transfer-Encoding": "chunked"}
    )
    assert status == 411
    assert body == (
        b'{"error":{"code":"length_required",'
        b'"message":"send a Content-Length, not a chunked body"}}'
    )
    assert json.loads(body)["error"]["code"] in contract.ERROR_CODES


def test_a_body_over_the_gateway_limit_is_413_unread(service: Service) -> None:
    connection = connect(service.url)
    connection.putrequest("POST", "/EpochRegisterTime")
    connection.putheader("Content-Length", str(11 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    connection.close()
    assert service.stored_ids() == []


def test_connections_are_kept_alive(service: Service) -> None:
    connection = connect(service.url)
    statuses = []
    for _ in range(3):
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        assert connection.sock is not None
    connection.close()
    assert statuses == [200, 200, 200]


def test_a_failing_handler_becomes_a_json_502() -> None:
    def broken(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    api = LocalApi(dict.fromkeys(contract.FUNCTION_HANDLERS, broken), port=0).start()
    try:
        connection = connect(api.url)
        connection.request("GET", "/health")
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    finally:
        api.stop()
    # API Gateway's answer to a failed Lambda, through the API's DEFAULT_5XX response.
    assert response.status == 502
    assert body == {"error": {"code": "unavailable", "message": "Internal server error"}}
    assert GATEWAY_RESPONSES["DEFAULT_5XX"]["responseTemplates"]["application/json"].startswith(
        '{"error":{"code":"unavailable",'
    )
    assert "boom" not in json.dumps(body)


def test_a_port_in_use_fails_at_construction(service: Service) -> None:
    with pytest.raises(OSError, match="in use"):
        LocalApi({}, port=service.api.port)


def test_a_client_hanging_up_is_one_quiet_log_line(
    service: Service, capfd: pytest.CaptureFixture[str]
) -> None:
    # Headers promise a body, then the client resets the connection: the server's
    # read fails with ConnectionResetError, as it does when wrk or ab stop mid-run.
    host, port = service.url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(
        b"POST /EpochRegisterTime HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # RST, not FIN
    out = err = ""
    deadline = time.monotonic() + 5
    while "client disconnected" not in out and time.monotonic() < deadline:
        time.sleep(0.05)
        captured = capfd.readouterr()
        out, err = out + captured.out, err + captured.err
    (line,) = [json.loads(x) for x in out.splitlines() if "client disconnected" in x]
    assert line["error"] == "ConnectionResetError"
    assert "Traceback" not in err
    assert err == ""


POST_HEAD = b"POST /EpochRegisterTime HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (
            POST_HEAD + b"Idempotency-Key: first-key-a\r\nidempotency-key: second-key-b\r\n"
            b"Content-Length: 0\r\n\r\n",
            "header Idempotency-Key must be given at most once",
        ),
        (
            POST_HEAD + b"Content-Type: application/json\r\ncontent-type: text/plain\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            "header Content-Type must be given at most once",
        ),
        (
            POST_HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            "header Content-Length must be given at most once",
        ),
        (
            POST_HEAD + b"Content-Length: 2\r\ncontent-length: 2\r\n\r\n{}",
            "header Content-Length must be given at most once",
        ),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n",
            "header Host must be given at most once",
        ),
        # The header dropped here, and every one after it, made a retried POST a new item.
        (
            POST_HEAD + b"Idempotency-Key : first-key-a\r\nContent-Length: 0\r\n\r\n",
            "malformed header line (a field name, a colon, then the value)",
        ),
        (
            POST_HEAD + b"Idempotency-Key first-key-a\r\nContent-Length: 0\r\n\r\n",
            "malformed header line (a field name, a colon, then the value)",
        ),
        (
            POST_HEAD + b"X-Note: a\r\n  folded\r\nContent-Length: 0\r\n\r\n",
            "malformed header line (a field name, a colon, then the value)",
        ),
        (
            POST_HEAD + b": no-name\r\nContent-Length: 0\r\n\r\n",
            "malformed header line (a field name, a colon, then the value)",
        ),
        (POST_HEAD + b"X-Note: a\x00b\r\nContent-Length: 0\r\n\r\n", "malformed header value"),
        (POST_HEAD + b"Content-Length: +2\r\n\r\n{}", "invalid Content-Length"),
        (POST_HEAD + b"Content-Length: 0_2\r\n\r\n{}", "invalid Content-Length"),
        (POST_HEAD + b"Content-Length: 2, 2\r\n\r\n{}", "invalid Content-Length"),
        (POST_HEAD + b"Content-Length: -0\r\n\r\n", "invalid Content-Length"),
        (
            b"POST /EpochRegisterTime HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "an HTTP/1.1 request needs a Host header",
        ),
        (b"get /health HTTP/1.1\r\nHost: x\r\n\r\n", "methods are upper case: GET, not get"),
        (
            b"Post /EpochRegisterTime HTTP/1.1\r\nHost: x\r\n\r\n",
            "methods are upper case: POST, not Post",
        ),
        (b"GET  /health HTTP/1.1\r\nHost: x\r\n\r\n", "malformed request line"),
        (b"G(T /health HTTP/1.1\r\nHost: x\r\n\r\n", "malformed request line"),
    ],
    ids=[
        "idempotency-key-in-two-cases",
        "content-type-in-two-cases",
        "conflicting-content-length",
        "repeated-content-length",
        "repeated-host",
        "space-before-colon",
        "no-colon",
        "folded-line",
        "empty-name",
        "control-character",
        "length-plus",
        "length-underscore",
        "length-list",
        "length-minus",
        "http-1.1-without-host",
        "lower-case-method",
        "mixed-case-method",
        "two-spaces",
        "method-not-a-token",
    ],
)
def test_malformed_requests_are_400_and_store_nothing(
    service: Service, request_bytes: bytes, message: str
) -> None:
    line, body = raw_exchange(service, request_bytes)
    assert line.split()[:2] == ["HTTP/1.1", "400"], line
    assert body == {"error": {"code": "bad_request", "message": message}}
    assert service.stored_ids() == []


def test_a_header_after_a_well_formed_one_still_counts(service: Service) -> None:
    """The lenient parser's failure mode, seen from the side that mattered: the key
    after an ordinary header line reaches the handler, so the retry is idempotent."""
    request = (
        POST_HEAD + b"X-Note: a\r\nIdempotency-Key: the-key-123\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    )
    first = raw_exchange(service, request)
    assert first[0].split()[1] == "201"
    line, body = raw_exchange(service, request)
    assert line.split()[1] == "200"
    assert body["id"] == first[1]["id"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /health HTTP/1.0\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHOST: x\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\nHost: x\nConnection: close\n\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\nConnection: close\r\n\r\n",
    ],
    ids=["http-1.0-without-host", "host-in-capitals", "bare-line-feeds", "empty-and-tab-values"],
)
def test_well_formed_requests_still_pass(service: Service, request_bytes: bytes) -> None:
    line, body = raw_exchange(service, request_bytes)
    assert line.split()[:2] == ["HTTP/1.1", "200"], line
    assert body["status"] == "ok"


def _slow_api(read_timeout: float) -> LocalApi:
    def answer(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "headers": {}, "body": "{}"}

    return LocalApi(
        dict.fromkeys(contract.FUNCTION_HANDLERS, answer), port=0, read_timeout=read_timeout
    ).start()


def _read_until_closed(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "sent",
    [
        POST_HEAD + b"Content-Length: 10\r\n\r\n{}",
        POST_HEAD + b"Content-Len",
        b"GET /hea",
    ],
    ids=["body-short", "headers-unfinished", "request-line-unfinished"],
)
def test_a_request_not_sent_in_time_is_408_and_the_connection_closed(sent: bytes) -> None:
    api = _slow_api(0.3)
    try:
        # The client's own timeout is far longer: the server must end the exchange.
        with socket.create_connection(("127.0.0.1", api.port), timeout=10) as client:
            client.sendall(sent)
            answer = _read_until_closed(client)
    finally:
        api.stop()
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 408"), head
    assert "Connection: close" in head
    assert json.loads(body) == {
        "error": {"code": "bad_request", "message": "the request did not arrive within 0.3 s"}
    }


def test_a_trickling_client_is_cut_off_at_the_deadline() -> None:
    """The deadline covers the whole request, not each read: a byte every 0.1 s
    (each read well within the timeout) still ends at 0.5 s."""
    api = _slow_api(0.5)
    sent = b""
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", api.port), timeout=10) as client:
            client.setblocking(True)
            for byte in POST_HEAD + b"Content-Length: 100\r\n\r\n" + b" " * 100:
                try:
                    client.sendall(bytes([byte]))
                except OSError:
                    break
                sent += bytes([byte])
                time.sleep(0.1)
                client.settimeout(0.0)
                try:
                    answer = client.recv(65536)
                except BlockingIOError:
                    continue
                finally:
                    client.settimeout(10)
                break
    finally:
        api.stop()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    # 0.5 s at 0.1 s a byte: the request was cut off near its tenth byte, not at its end.
    assert len(sent) < len(POST_HEAD) + 20


def test_an_idle_connection_is_closed_without_an_answer() -> None:
    api = _slow_api(0.3)
    try:
        with socket.create_connection(("127.0.0.1", api.port), timeout=10) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while not first.endswith(b"\r\n\r\n{}"):  # headers and body: two writes
                first += client.recv(65536)
            rest = _read_until_closed(client)  # the keep-alive connection, left idle
    finally:
        api.stop()
    assert first.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" not in first
    assert rest == b""
