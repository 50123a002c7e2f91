"""The shared dispatcher, driven with API Gateway REST proxy events directly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from handlers import api, contract
from handlers.api import Request, Response

ECHO_OPERATIONS = {route.operation_id for route in contract.ROUTES}


def echo(request: Request) -> Response:
    return Response(
        200,
        {
            "method": request.method,
            "params": dict(request.path_params),
            "query": dict(request.query),
            "body": request.body.decode(),
            "key": request.header(contract.IDEMPOTENCY_HEADER),
        },
    )


ALL_ROUTES = dict.fromkeys(ECHO_OPERATIONS, echo)


def event(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": path,
        "resource": extra.pop("resource", None),
        "requestContext": {"requestId": "req-123"},
        **extra,
    }


def call(proxy_event: dict[str, Any], routes: dict[str, Any] | None = None) -> dict[str, Any]:
    result = api.dispatch(proxy_event, None, ALL_ROUTES if routes is None else routes, function="t")
    result["json"] = json.loads(result["body"])
    return result


@pytest.mark.parametrize("route", contract.ROUTES, ids=lambda r: r.operation_id)
def test_each_route_reaches_its_function(route: contract.Route) -> None:
    path = route.path.replace("{id}", "0" * 32)
    result = call(event(route.method, path))
    assert result["statusCode"] == 200
    assert result["json"]["method"] == route.method
    assert result["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/EpochRegisterTime", "POST"),
        ("DELETE", "/EpochRegisterTime", "POST"),
        ("POST", "/getEpoch", "GET"),
        ("PUT", "/getEpoch/abc", "GET"),
        ("HEAD", "/health", "GET"),
        ("OPTIONS", "/health", "GET"),
    ],
)
def test_wrong_methods_are_405_with_allow(method: str, path: str, allow: str) -> None:
    result = call(event(method, path))
    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == allow
    assert result["json"]["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/", "", "/nope", "/health/", "/getEpoch/a/b", "/getEpoch/"])
def test_unknown_paths_are_404(path: str) -> None:
    result = call(event("GET", path))
    assert result["statusCode"] == 404
    assert result["json"] == {"error": {"code": "not_found", "message": "no such resource"}}


def test_a_route_owned_by_another_function_is_404() -> None:
    only_health = {contract.ROUTE_HEALTH.operation_id: echo}
    assert call(event("POST", "/EpochRegisterTime"), only_health)["statusCode"] == 404
    assert call(event("GET", "/health"), only_health)["statusCode"] == 200


def test_resource_and_path_parameters_win_over_a_base_path() -> None:
    # Behind a custom domain with a base path mapping, `path` carries the prefix.
    result = call(
        event(
            "GET",
            "/v1/getEpoch/abc",
            resource="/getEpoch/{id}",
            pathParameters={"id": "abc"},
        )
    )
    assert result["statusCode"] == 200
    assert result["json"]["params"] == {"id": "abc"}


def test_a_known_resource_without_its_parameter_is_404() -> None:
    result = call(event("GET", "/getEpoch/x", resource="/getEpoch/{id}", pathParameters=None))
    assert result["statusCode"] == 404


def test_query_headers_and_base64_bodies_are_decoded() -> None:
    result = call(
        event(
            "POST",
            "/EpochRegisterTime",
            headers={"idempotency-key": "single"},
            multiValueHeaders={"Idempotency-Key": ["from-multi"]},
            queryStringParameters={"a": "2"},
            multiValueQueryStringParameters={"a": ["1", "2"]},
            body=base64.b64encode(b"{}").decode(),
            isBase64Encoded=True,
        )
    )
    assert result["json"]["key"] == "from-multi"
    assert result["json"]["query"] == {"a": ["1", "2"]}
    assert result["json"]["body"] == "{}"


def test_malformed_base64_body_is_400() -> None:
    result = call(event("POST", "/EpochRegisterTime", body="!!not base64", isBase64Encoded=True))
    assert result["statusCode"] == 400
    assert result["json"]["error"]["code"] == "bad_request"


def test_a_body_over_the_limit_is_413_before_the_route_runs() -> None:
    calls: list[Request] = []

    def record(request: Request) -> Response:
        calls.append(request)
        return Response(201, {})

    body = "x" * (contract.MAX_BODY_BYTES + 1)
    result = call(
        event("POST", "/EpochRegisterTime", body=body),
        {contract.ROUTE_REGISTER.operation_id: record},
    )
    assert result["statusCode"] == 413
    assert result["json"]["error"]["code"] == "too_large"
    assert calls == []


def test_an_unexpected_error_is_500_without_a_trace_and_logged_with_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(_request: Request) -> Response:
        raise KeyError("secret internals")

    result = call(event("GET", "/health"), {contract.ROUTE_HEALTH.operation_id: broken})
    assert result["statusCode"] == 500
    assert result["json"] == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "secret" not in result["body"]

    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    error_log = next(entry for entry in logs if entry["message"] == "unhandled error")
    assert "secret internals" in error_log["exception"]
    assert error_log["request_id"] == "req-123"


def test_every_request_writes_one_json_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    call(event("GET", "/nope"))
    call(event("GET", "/health"))
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(entry["path"], entry["status"]) for entry in logs] == [
        ("/nope", 404),
        ("/health", 200),
    ]
    assert all(entry["request_id"] == "req-123" for entry in logs)
    assert all(entry["level"] == "INFO" and entry["message"] == "request" for entry in logs)
    assert logs[1]["operation"] == contract.ROUTE_HEALTH.operation_id
    assert isinstance(logs[1]["duration_ms"], float)


# API Gateway's REST proxy event keeps every value of a repeated header in
# `multiValueHeaders` (the last one in `headers`). Whether a repeat in another letter
# case arrives under its own key or under the first one's, it is the same header.
@pytest.mark.parametrize(
    "headers",
    [
        {
            "headers": {"Idempotency-Key": "first-key-a", "idempotency-key": "second-key-b"},
            "multiValueHeaders": {
                "Idempotency-Key": ["first-key-a"],
                "idempotency-key": ["second-key-b"],
            },
        },
        {
            "headers": {"Idempotency-Key": "second-key-b"},
            "multiValueHeaders": {"Idempotency-Key": ["first-key-a", "second-key-b"]},
        },
        {"headers": {"IDEMPOTENCY-KEY": "first-key-a", "idempotency-key": "second-key-b"}},
    ],
    ids=["a-key-per-case", "one-key", "single-value-map-only"],
)
def test_a_header_repeated_in_another_case_is_400(headers: dict[str, Any]) -> None:
    calls: list[Request] = []

    def record(request: Request) -> Response:
        calls.append(request)
        return echo(request)

    result = call(event("POST", "/EpochRegisterTime", **headers), {"registerEpoch": record})
    assert result["statusCode"] == 400
    assert result["json"]["error"] == {
        "code": "bad_request",
        "message": "header Idempotency-Key must be given at most once",
    }
    assert calls == []


@pytest.mark.parametrize("name", contract.SINGLE_VALUED_HEADERS)
def test_every_single_valued_header_repeated_is_400_before_the_route_runs(name: str) -> None:
    calls: list[Request] = []

    def record(request: Request) -> Response:
        calls.append(request)
        return echo(request)

    repeated = {"multiValueHeaders": {name: ["1"], name.lower(): ["1"]}}
    result = call(event("GET", "/health", **repeated), {"health": record})
    assert result["statusCode"] == 400
    assert result["json"]["error"]["message"] == f"header {name} must be given at most once"
    assert calls == []


def test_other_headers_may_repeat_in_any_case() -> None:
    result = call(
        event(
            "GET",
            "/health",
            multiValueHeaders={"Accept": ["a/b"], "accept": ["c/d"], "X-Forwarded-For": ["1", "2"]},
        )
    )
    assert result["statusCode"] == 200
