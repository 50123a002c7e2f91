"""local_api.server: HTTP requests become REST proxy events for the real handlers."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from typing import Any

import pytest

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
    assert owning_function(path) == function


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
    """Send bytes as they are: the answer's status line ("" when http.server answers a
    request line it cannot read as HTTP/1.x with the body alone, as HTTP/0.9 did) and
    its JSON body."""
    with socket.create_connection(("127.0.0.1", service.api.port), timeout=10) as raw:
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
        # A request line it cannot read as HTTP/1.x: http.server answers with the body alone.
        (b"GET\r\n\r\n", "", "bad_request"),
        (b"GET /health HTTP/2.0\r\n\r\n", "", "bad_request"),
    ],
    ids=["uri-too-long", "header-line-too-long", "bad-length", "bad-request-line", "http-2"],
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
