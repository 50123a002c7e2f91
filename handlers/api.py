"""API Gateway REST proxy events in, proxy responses out: routing, errors, access logs.

One dispatcher serves every function (and local mode): it matches the path
against `contract.ROUTES`, answers 404 for unknown paths and 405 (with `Allow`)
for methods a known path does not serve, then calls the route function this
function owns. Every answer, error or not, is JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from handlers import auth, contract
from handlers.logs import REQUEST_ID, get_logger

LambdaEvent = dict[str, Any]
LambdaHandler = Callable[[LambdaEvent, Any], dict[str, Any]]

# Error codes (contract.py defines them for the infrastructure's gateway responses too).
BAD_REQUEST = contract.ERROR_BAD_REQUEST
INVALID_BODY = contract.ERROR_INVALID_BODY
INVALID_PARAMETER = contract.ERROR_INVALID_PARAMETER
INVALID_CURSOR = contract.ERROR_INVALID_CURSOR
INVALID_IDEMPOTENCY_KEY = contract.ERROR_INVALID_IDEMPOTENCY_KEY
INVALID_ID = contract.ERROR_INVALID_ID
NOT_FOUND = contract.ERROR_NOT_FOUND
METHOD_NOT_ALLOWED = contract.ERROR_METHOD_NOT_ALLOWED
TOO_LARGE = contract.ERROR_TOO_LARGE
UNSUPPORTED_MEDIA_TYPE = contract.ERROR_UNSUPPORTED_MEDIA_TYPE
THROTTLED = contract.ERROR_THROTTLED
UNAVAILABLE = contract.ERROR_UNAVAILABLE
UNHEALTHY = contract.ERROR_UNHEALTHY
INTERNAL_ERROR = contract.ERROR_INTERNAL

JSON_CONTENT_TYPE = "application/json"
_BASE_HEADERS = {"Content-Type": JSON_CONTENT_TYPE, "Cache-Control": "no-store"}

_log = get_logger()


class ApiError(Exception):
    """An answer other than success: status, stable code, human message, headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra_body = dict(body or {})

    def response(self) -> Response:
        body = {**self.extra_body, "error": {"code": self.code, "message": self.message}}
        return Response(self.status, body, self.headers)


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def unavailable(code: str, message: str, retry_after: int) -> ApiError:
    return ApiError(503, code, message, headers={"Retry-After": str(retry_after)})


class Response:
    """A JSON response: status, body object, extra headers."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def to_proxy(self) -> dict[str, Any]:
        """The API Gateway proxy integration response."""
        return {
            "statusCode": self.status,
            "headers": {**_BASE_HEADERS, **self.headers},
            "body": json.dumps(self.body, separators=(",", ":")),
            "isBase64Encoded": False,
        }


class Request:
    """The parts of a proxy event the route functions use (header names lower-cased).

    `caller`: who API Gateway authenticated (handlers/auth.py), None without authentication.
    """

    __slots__ = (
        "body",
        "caller",
        "headers",
        "method",
        "path",
        "path_params",
        "query",
        "request_id",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        path_params: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, list[str]],
        body: bytes,
        request_id: str,
        caller: str | None = None,
    ) -> None:
        self.caller = caller
        self.method = method
        self.path = path
        self.path_params = path_params
        self.query = query
        self.headers = headers
        self.body = body
        self.request_id = request_id

    def header(self, name: str) -> str | None:
        """The header's value; 400 when it is repeated."""
        values = self.headers.get(name.lower())
        if not values:
            return None
        if len(values) > 1:
            raise bad_request(BAD_REQUEST, f"header {name} must be given at most once")
        return values[0]

    def query_value(self, name: str) -> str | None:
        """The query parameter's value; 400 when it is repeated."""
        values = self.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise bad_request(INVALID_PARAMETER, f"query parameter {name} must be given once")
        return values[0]


RouteFunction = Callable[[Request], Response]

_TEMPLATES: tuple[str, ...] = tuple(dict.fromkeys(route.path for route in contract.ROUTES))


def match_path(path: str) -> tuple[str, dict[str, str]] | None:
    """The route template matching a concrete path and its path parameters."""
    segments = path.split("/")
    for template in _TEMPLATES:
        parts = template.split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    break
                params[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            return template, params
    return None


def allowed_methods(template: str) -> list[str]:
    return sorted({route.method for route in contract.ROUTES if route.path == template})


def _multi(single: Any, multi: Any, *, lower: bool) -> dict[str, list[str]]:
    """Merge the single- and multi-value maps of a proxy event."""
    merged: dict[str, list[str]] = {}
    if isinstance(multi, dict):
        for name, values in multi.items():
            if isinstance(values, list):
                merged[name.lower() if lower else name] = [str(v) for v in values]
    if isinstance(single, dict):
        for name, value in single.items():
            key = name.lower() if lower else name
            if key not in merged and value is not None:
                merged[key] = [str(value)]
    return merged


def _headers(single: Any, multi: Any) -> dict[str, list[str]]:
    """Every value of each header, by lower-cased name: names differing only in letter
    case are one header, whether the event lists them under one key or under several.
    `headers` holds the last value of each `multiValueHeaders` entry, so it counts only
    for a name `multiValueHeaders` lacks."""
    merged: dict[str, list[str]] = {}
    if isinstance(multi, dict):
        for name, values in multi.items():
            if isinstance(values, list):
                merged.setdefault(str(name).lower(), []).extend(str(v) for v in values)
    from_single: dict[str, list[str]] = {}
    if isinstance(single, dict):
        for name, value in single.items():
            key = str(name).lower()
            if key not in merged and value is not None:
                from_single.setdefault(key, []).append(str(value))
    return {**merged, **from_single}


def check_single_valued(headers: Mapping[str, list[str]]) -> None:
    """400 when a header that carries one value (contract.SINGLE_VALUED_HEADERS) repeats."""
    for name in contract.SINGLE_VALUED_HEADERS:
        if len(headers.get(name.lower(), ())) > 1:
            raise bad_request(BAD_REQUEST, f"header {name} must be given at most once")


def _body(event: LambdaEvent) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    if not isinstance(raw, str):
        raise bad_request(BAD_REQUEST, "malformed request body")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(BAD_REQUEST, "malformed request body") from None
    return raw.encode("utf-8", "surrogatepass")


def _resolve(event: LambdaEvent) -> tuple[str, dict[str, str]] | None:
    """Template and path parameters: API Gateway's `resource` when it is one of
    ours (the path may carry a custom-domain base path), else match `path`."""
    resource = event.get("resource")
    params = event.get("pathParameters")
    if isinstance(resource, str) and resource in _TEMPLATES:
        given = {k: str(v) for k, v in params.items()} if isinstance(params, dict) else {}
        expected = {part[1:-1] for part in resource.split("/") if part.startswith("{")}
        if set(given) == expected and all(given.values()):
            return resource, given
        return None
    path = event.get("path")
    return match_path(path) if isinstance(path, str) else None


def _request_id(event: LambdaEvent, context: Any) -> str:
    request_context = event.get("requestContext")
    if isinstance(request_context, dict) and request_context.get("requestId"):
        return str(request_context["requestId"])
    return str(getattr(context, "aws_request_id", "") or uuid.uuid4())


def dispatch(
    event: LambdaEvent, context: Any, routes: Mapping[str, RouteFunction], *, function: str
) -> dict[str, Any]:
    """Answer one proxy event with this function's routes (operation id -> route function)."""
    started = time.perf_counter()
    request_id = _request_id(event, context)
    token = REQUEST_ID.set(request_id)
    method = str(event.get("httpMethod") or "").upper()
    path = str(event.get("path") or "")
    operation = "-"
    try:
        try:
            resolved = _resolve(event)
            if resolved is None:
                raise ApiError(404, NOT_FOUND, "no such resource")
            template, path_params = resolved
            route = next(
                (r for r in contract.ROUTES if r.path == template and r.method == method), None
            )
            if route is None:
                allow = ", ".join(allowed_methods(template))
                raise ApiError(
                    405,
                    METHOD_NOT_ALLOWED,
                    f"{method or 'this method'} is not allowed here; use {allow}",
                    headers={"Allow": allow},
                )
            operation = route.operation_id
            route_function = routes.get(route.operation_id)
            if route_function is None:
                # The infrastructure routes each path to the function owning it.
                raise ApiError(404, NOT_FOUND, "no such resource")
            body = _body(event)
            if len(body) > contract.MAX_BODY_BYTES:
                raise ApiError(
                    413,
                    TOO_LARGE,
                    f"request body is larger than {contract.MAX_BODY_BYTES} bytes",
                )
            headers = _headers(event.get("headers"), event.get("multiValueHeaders"))
            check_single_valued(headers)
            request = Request(
                method=method,
                path=path,
                path_params=path_params,
                query=_multi(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    lower=False,
                ),
                headers=headers,
                body=body,
                request_id=request_id,
                caller=auth.caller_scope(event),
            )
            response = route_function(request)
        except ApiError as error:
            response = error.response()
        except Exception:  # noqa: BLE001 - the one safety net: trace to the log, not the client
            _log.exception("unhandled error", extra={"fields": {"operation": operation}})
            response = ApiError(500, INTERNAL_ERROR, "internal error").response()
        _log.log(
            logging.WARNING if response.status >= 500 else logging.INFO,
            "request",
            extra={
                "fields": {
                    "function": function,
                    "aws_request_id": getattr(context, "aws_request_id", None),
                    "operation": operation,
                    "method": method,
                    "path": path,
                    "status": response.status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
        return response.to_proxy()
    finally:
        REQUEST_ID.reset(token)
