"""The route functions: validate the request, make one storage call, build the answer.

Each takes its dependencies (DynamoDB client, table, region, clock) as
arguments, so tests call them with a client of their choosing and no patching.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from handlers import api, auth, contract, store
from handlers.api import Request, Response

_ID = re.compile(contract.ITEM_ID_PATTERN[1:-1])
_IDEMPOTENCY_KEY = re.compile(
    f"[{contract.IDEMPOTENCY_KEY_CHARSET}]"
    f"{{{contract.IDEMPOTENCY_KEY_MIN_LENGTH},{contract.IDEMPOTENCY_KEY_MAX_LENGTH}}}"
)
_LIMIT = re.compile("[0-9]{1,3}")
_CURSOR = re.compile("[A-Za-z0-9_-]+")
_SORT_KEY = re.compile("[0-9]{15}#([0-9a-f]{32})")
_NAMESPACE = uuid.UUID(contract.IDEMPOTENCY_NAMESPACE)


class Deps(NamedTuple):
    """What the data routes need: a DynamoDB client, the table, this region, a clock (ms),
    how many list-index shards registrations are spread over, and how many days they
    are kept (0: forever)."""

    client: Any
    table: str
    region: str
    now_ms: Callable[[], int]
    list_shards: int = contract.LIST_SHARDS_DEFAULT
    retention_days: int = 0
    # Authentication is on (AUTH_MODE): a request API Gateway let through names its caller.
    auth_required: bool = False

    def cutoff_ms(self, now_ms: int) -> int | None:
        return contract.retention_cutoff_ms(now_ms, self.retention_days)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def location(item_id: str) -> dict[str, str]:
    return {"Location": contract.ROUTE_GET_ONE.path.replace("{id}", item_id)}


# --- POST /EpochRegisterTime ------------------------------------------------------


def item_id_for_key(key: str, caller: str | None = None) -> str:
    """The registration id an idempotency key maps to, the same in every region.

    With authentication the caller is part of it: one client's key can never
    name (or pre-empt) another client's registration.
    """
    return uuid.uuid5(_NAMESPACE, key if caller is None else f"{caller}\n{key}").hex


def require_caller(request: Request, deps: Deps) -> None:
    """With authentication on, a request without a caller never reaches the table.

    API Gateway refuses such requests first; this holds if the API were ever
    deployed without its authorizer or key requirement.
    """
    if deps.auth_required and request.caller is None:
        raise api.ApiError(401, auth.ERROR_UNAUTHORIZED, "this operation needs credentials")


def idempotency_key(request: Request) -> str | None:
    key = request.header(contract.IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise api.bad_request(
            api.INVALID_IDEMPOTENCY_KEY,
            f"{contract.IDEMPOTENCY_HEADER} must be {contract.IDEMPOTENCY_KEY_MIN_LENGTH}-"
            f"{contract.IDEMPOTENCY_KEY_MAX_LENGTH} characters of "
            f"[{contract.IDEMPOTENCY_KEY_CHARSET}]",
        )
    return key


def check_register_body(request: Request) -> None:
    """The body is optional; if sent it must be the JSON object `{}`.

    No client-supplied fields: the server's clock and region are the whole
    registration, so there is nothing a client could usefully add.
    """
    if not request.body:
        return
    content_type = request.header("Content-Type") or ""
    media_type, _, params = content_type.partition(";")
    charset = params.strip().lower()
    if media_type.strip().lower() != api.JSON_CONTENT_TYPE or charset not in (
        "",
        "charset=utf-8",
    ):
        raise api.ApiError(
            415, api.UNSUPPORTED_MEDIA_TYPE, "a request body must be application/json (UTF-8)"
        )
    try:
        document = json.loads(request.body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise api.bad_request(api.INVALID_BODY, "the request body is not valid JSON") from None
    if document != {}:
        raise api.bad_request(
            api.INVALID_BODY, "the request body must be an empty JSON object or omitted"
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def register_epoch(request: Request, deps: Deps) -> Response:
    require_caller(request, deps)
    check_register_body(request)
    key = idempotency_key(request)
    item_id = item_id_for_key(key, request.caller) if key is not None else uuid.uuid4().hex
    registration = store.Registration(item_id, deps.now_ms(), deps.region)
    existing = store.put_new(
        deps.client, deps.table, registration, deps.list_shards, deps.retention_days
    )
    if existing is None:
        return Response(201, registration.to_json(), location(item_id))
    if key is None:
        # A fresh random id can only exist if this request's own write landed and
        # its answer was lost, then the SDK retried: it is still this request's item.
        return Response(201, existing.to_json(), location(item_id))
    return Response(200, existing.to_json(), location(item_id))


# --- GET /getEpoch and GET /getEpoch/{id} -----------------------------------------


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return contract.LIST_LIMIT_DEFAULT
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= contract.LIST_LIMIT_MAX:
        raise api.bad_request(
            api.INVALID_PARAMETER,
            f"limit must be an integer from 1 to {contract.LIST_LIMIT_MAX}",
        )
    return int(raw)


def encode_cursor(last_key: dict[str, str]) -> str:
    """Opaque page cursor: unpadded urlsafe base64 of the compact JSON last key."""
    raw = json.dumps(
        {
            contract.HASH_KEY: last_key[contract.HASH_KEY],
            contract.LIST_INDEX_RANGE_KEY: last_key[contract.LIST_INDEX_RANGE_KEY],
        },
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str]:
    """Strict inverse of `encode_cursor`: anything it did not produce is a 400."""
    invalid = api.bad_request(api.INVALID_CURSOR, "cursor is not one this API returned")
    if len(cursor) != contract.CURSOR_LENGTH or not _CURSOR.fullmatch(cursor):
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, RecursionError):
        raise invalid from None
    if not isinstance(document, dict) or set(document) != {
        contract.HASH_KEY,
        contract.LIST_INDEX_RANGE_KEY,
    }:
        raise invalid
    item_id = document[contract.HASH_KEY]
    sort_key = document[contract.LIST_INDEX_RANGE_KEY]
    if not isinstance(item_id, str) or not isinstance(sort_key, str):
        raise invalid
    match = _SORT_KEY.fullmatch(sort_key)
    if not _ID.fullmatch(item_id) or match is None or match.group(1) != item_id:
        raise invalid
    start = {contract.HASH_KEY: item_id, contract.LIST_INDEX_RANGE_KEY: sort_key}
    if encode_cursor(start) != cursor:
        raise invalid
    return start


def list_epochs(request: Request, deps: Deps) -> Response:
    require_caller(request, deps)
    limit = parse_limit(request.query_value("limit"))
    cursor = request.query_value("cursor")
    start = decode_cursor(cursor) if cursor is not None else None
    now = deps.now_ms()
    page = store.query_page(
        deps.client, deps.table, limit, start, deps.list_shards, deps.cutoff_ms(now)
    )
    body = {
        "now": now // 1000,
        "region": deps.region,
        "items": [item.to_json() for item in page.items],
        "next": encode_cursor(page.last_key) if page.last_key is not None else None,
    }
    return Response(200, body)


def get_epoch(request: Request, deps: Deps) -> Response:
    require_caller(request, deps)
    item_id = request.path_params.get("id", "")
    if not _ID.fullmatch(item_id):
        raise api.bad_request(api.INVALID_ID, "id must be 32 lowercase hexadecimal digits")
    registration = store.get(deps.client, deps.table, item_id, deps.cutoff_ms(deps.now_ms()))
    if registration is None:
        raise api.ApiError(404, api.NOT_FOUND, "no registration with this id")
    return Response(200, registration.to_json())


# --- GET /health ------------------------------------------------------------------


class HealthCheck:
    """A table probe whose outcome is reused for `ttl` seconds (thread-safe, single flight)."""

    def __init__(
        self,
        probe: Callable[[], None],
        ttl: float = contract.HEALTH_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._expires = float("-inf")
        self._failure: api.ApiError | None = None

    def check(self) -> None:
        """Raise the (possibly cached) failure, if the table did not answer."""
        with self._lock:
            if self._clock() >= self._expires:
                try:
                    self._probe()
                    self._failure = None
                except api.ApiError as error:
                    self._failure = error
                self._expires = self._clock() + self._ttl
            failure = self._failure
        if failure is not None:
            raise failure


def health(request: Request, *, check: HealthCheck, region: str, force_unhealthy: bool) -> Response:
    unhealthy = {"status": "unhealthy", "region": region}
    retry_after = {"Retry-After": str(contract.RETRY_AFTER_UNAVAILABLE_SECONDS)}
    if force_unhealthy:
        raise api.ApiError(
            503,
            api.UNHEALTHY,
            "forced unhealthy by configuration",
            headers=retry_after,
            body=unhealthy,
        )
    try:
        check.check()
    except api.ApiError as error:
        raise api.ApiError(
            503,
            api.UNHEALTHY,
            f"the table did not answer ({error.code})",
            headers=retry_after,
            body=unhealthy,
        ) from None
    return Response(200, {"status": "ok", "region": region})
