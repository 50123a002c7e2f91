"""The contract shared by the infrastructure and the Lambda handlers.

Routes, environment variable names and the table's key schema are defined here
once; `epoch_constructs` builds the table, the functions and the API from these
names, and the handlers read and write with them. Stdlib only: this module is
shipped in the Lambda zip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- Environment variables set on every function by RegionFrontend ------------
ENV_TABLE_NAME = "TABLE_NAME"
# "true" forces GET /health to answer 503 (failover drills: settings `routing.drill_regions`).
ENV_FORCE_UNHEALTHY = "FORCE_UNHEALTHY"
# Only in local mode and tests: where the DynamoDB-compatible server listens.
ENV_DYNAMODB_ENDPOINT = "DYNAMODB_ENDPOINT_URL"
# Set by the Lambda runtime itself; local mode sets it too.
ENV_REGION = "AWS_REGION"
# How many list-index partitions registrations are spread over (settings
# `table.list_shards`; unset means 1).
ENV_LIST_SHARDS = "LIST_SHARDS"
# Days a registration stays visible and stored (settings `table.retention_days`;
# unset or 0 keeps registrations forever). Set only when retention is on.
ENV_RETENTION_DAYS = "RETENTION_DAYS"

# --- Functions: logical name -> handler path inside the Lambda zip -----------
# The zip holds the `handlers/` package at its root, so these import as-is.
FUNCTION_HANDLERS: dict[str, str] = {
    "register": "handlers.register.handler",
    "read": "handlers.read.handler",
    "health": "handlers.health.handler",
}


@dataclass(frozen=True)
class Route:
    """One API operation: HTTP method, path template, OpenAPI operationId, function."""

    method: str
    path: str
    operation_id: str
    function: str


ROUTE_REGISTER = Route("POST", "/EpochRegisterTime", "registerEpoch", "register")
ROUTE_LIST = Route("GET", "/getEpoch", "listEpochs", "read")
ROUTE_GET_ONE = Route("GET", "/getEpoch/{id}", "getEpoch", "read")
ROUTE_HEALTH = Route("GET", "/health", "health", "health")
ROUTES: tuple[Route, ...] = (ROUTE_REGISTER, ROUTE_LIST, ROUTE_GET_ONE, ROUTE_HEALTH)

# Path of the OpenAPI 3 document inside the `handlers` package.
OPENAPI_FILENAME = "openapi.json"

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Request headers that carry one value: a repeat, in any letter case, is a 400
# `bad_request`, from the handlers and from local mode's HTTP server alike.
SINGLE_VALUED_HEADERS: tuple[str, ...] = (
    "Authorization",
    "Content-Length",
    "Content-Type",
    "Host",
    IDEMPOTENCY_HEADER,
)

# --- Error codes: every error answer is {"error": {"code": ..., "message": ...}} ---
# The handlers answer with these:
ERROR_BAD_REQUEST = "bad_request"  # malformed request (repeated header, bad encoding)
ERROR_INVALID_BODY = "invalid_body"
ERROR_INVALID_PARAMETER = "invalid_parameter"
ERROR_INVALID_CURSOR = "invalid_cursor"
ERROR_INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
ERROR_INVALID_ID = "invalid_id"
ERROR_NOT_FOUND = "not_found"
ERROR_METHOD_NOT_ALLOWED = "method_not_allowed"
ERROR_TOO_LARGE = "too_large"
ERROR_UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
ERROR_THROTTLED = "throttled"  # 503: DynamoDB throttled after the SDK's retries
ERROR_UNAVAILABLE = "unavailable"  # 503: DynamoDB unreachable or failing
ERROR_UNHEALTHY = "unhealthy"  # 503 from GET /health
ERROR_INTERNAL = "internal_error"
HANDLER_ERROR_CODES: tuple[str, ...] = (
    ERROR_BAD_REQUEST,
    ERROR_INVALID_BODY,
    ERROR_INVALID_PARAMETER,
    ERROR_INVALID_CURSOR,
    ERROR_INVALID_IDEMPOTENCY_KEY,
    ERROR_INVALID_ID,
    ERROR_NOT_FOUND,
    ERROR_METHOD_NOT_ALLOWED,
    ERROR_TOO_LARGE,
    ERROR_UNSUPPORTED_MEDIA_TYPE,
    ERROR_THROTTLED,
    ERROR_UNAVAILABLE,
    ERROR_UNHEALTHY,
    ERROR_INTERNAL,
)
# API Gateway's own answers (gateway responses) use the same shape, these codes
# where they mean the same thing, plus these two:
ERROR_INVALID_REQUEST = "invalid_request"  # the gateway's request validation
ERROR_FORBIDDEN = "forbidden"  # WAF
GATEWAY_ONLY_ERROR_CODES: tuple[str, ...] = (ERROR_INVALID_REQUEST, ERROR_FORBIDDEN)
# Local mode's HTTP server answers a chunked request body (no Content-Length) 411.
ERROR_LENGTH_REQUIRED = "length_required"
LOCAL_ONLY_ERROR_CODES: tuple[str, ...] = (ERROR_LENGTH_REQUIRED,)
ERROR_CODES: tuple[str, ...] = (
    HANDLER_ERROR_CODES + GATEWAY_ONLY_ERROR_CODES + LOCAL_ONLY_ERROR_CODES
)

# --- Table key schema ---------------------------------------------------------
# Main table: one item per registration, hash key = registration id
# (put by id, get by id). The list index keeps registrations in ordered
# partitions: with one shard (the default) a page of "newest first" is exactly
# one Query; with N shards writes spread over N partitions and a page costs N
# Queries. See docs/data-model.md for the write-rate limit either way.
HASH_KEY = "pk"
LIST_INDEX_NAME = "by_time"
LIST_INDEX_HASH_KEY = "list_pk"
LIST_INDEX_RANGE_KEY = "list_sk"
LIST_PARTITION_VALUE = "registrations"
# Non-key attributes copied into the index (INCLUDE projection).
LIST_INDEX_PROJECTED = ("epoch", "epoch_ms", "region")
# Every key attribute is a string.
KEY_ATTRIBUTES: tuple[str, ...] = (HASH_KEY, LIST_INDEX_HASH_KEY, LIST_INDEX_RANGE_KEY)
LIST_SHARDS_DEFAULT = 1
LIST_SHARDS_MAX = 16


# Retention: the table's TTL attribute (epoch seconds; DynamoDB deletes the item
# within days after it) and the longest retention the settings accept.
TTL_ATTRIBUTE = "expires_at"
RETENTION_DAYS_MAX = 3650
MS_PER_DAY = 86_400_000


def parse_retention_days(raw: str) -> int:
    """A retention in days as text (environment): ValueError unless 0-3650."""
    if not raw.isdigit() or int(raw) > RETENTION_DAYS_MAX:
        raise ValueError(f"must be an integer from 0 to {RETENTION_DAYS_MAX}, not {raw!r}")
    return int(raw)


def retention_cutoff_ms(now_ms: int, retention_days: int) -> int | None:
    """Registrations at or before this time (ms) have expired; None without retention.

    Reads hide them whatever DynamoDB's TTL has done yet: it deletes lazily, days later.
    """
    return now_ms - retention_days * MS_PER_DAY if retention_days > 0 else None


def parse_list_shards(raw: str) -> int:
    """A shard count as text (environment, command line): ValueError unless 1-16."""
    if not raw.isdigit() or not LIST_SHARDS_DEFAULT <= int(raw) <= LIST_SHARDS_MAX:
        raise ValueError(f"must be an integer from 1 to {LIST_SHARDS_MAX}, not {raw!r}")
    return int(raw)


def list_shard(item_id: str, shards: int) -> int:
    """The list partition of a registration: fixed by its id (hex), so an
    idempotent repeat lands where the first write did, in every region."""
    return int(item_id[:8], 16) % shards


def list_partition(shard: int) -> str:
    """List-index hash key of a shard. Shard 0 is the unsharded partition, so
    raising the shard count keeps every stored registration listed; lowering
    it would hide the registrations in the dropped shards (data format)."""
    return LIST_PARTITION_VALUE if shard == 0 else f"{LIST_PARTITION_VALUE}#{shard}"


def list_sort_key(epoch_ms: int, item_id: str) -> str:
    """Sort key of the list index: zero-padded milliseconds, then the id (ties)."""
    return f"{epoch_ms:015d}#{item_id}"


def create_table_request(table_name: str) -> dict[str, Any]:
    """`CreateTable` arguments for local mode and tests: the same schema as the
    infrastructure's global table, on-demand billing."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in KEY_ATTRIBUTES
        ],
        "KeySchema": [{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": LIST_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": LIST_INDEX_HASH_KEY, "KeyType": "HASH"},
                    {"AttributeName": LIST_INDEX_RANGE_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": list(LIST_INDEX_PROJECTED),
                },
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


# --- API limits (openapi.json states the same numbers; tests/service check it) -
# GET /getEpoch page size.
LIST_LIMIT_DEFAULT = 25
LIST_LIMIT_MAX = 100
# A cursor is unpadded base64url of {"pk":"<id>","list_sk":"<sort key>"}: ids and
# sort keys have fixed lengths, so every cursor has this length and starts with
# the encoding of `{"pk":"`. openapi.json states both.
CURSOR_LENGTH = 136
CURSOR_PREFIX = "eyJwayI6I"
# Idempotency-Key: 8-128 characters of [A-Za-z0-9._:-] (a UUID fits).
IDEMPOTENCY_KEY_MIN_LENGTH = 8
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_KEY_CHARSET = "A-Za-z0-9._:-"
# uuid5 namespace the item id of an idempotent registration is derived from.
# Data format: changing it breaks idempotency for keys already used.
IDEMPOTENCY_NAMESPACE = "6f0d7c3e-2b1a-5c4d-8e9f-0a1b2c3d4e5f"
# Registration ids are 32 lowercase hex digits (uuid4, or uuid5 of the key).
ITEM_ID_PATTERN = "^[0-9a-f]{32}$"
# Largest request body the handlers accept (413 above). POST takes at most `{}`.
MAX_BODY_BYTES = 1024

# --- SDK timeouts and retries (SDK worst case < Lambda timeout < API Gateway 29 s)
# botocore "standard" retry mode; SDK_MAX_ATTEMPTS counts the first attempt too
# (passed as `total_max_attempts`: botocore's `max_attempts` counts retries only);
# the backoff before retry i (1-based) is rand(0, 1) * min(2 ** (i - 1), 20) s.
SDK_CONNECT_TIMEOUT_SECONDS = 0.5
SDK_READ_TIMEOUT_SECONDS = 1.0
SDK_MAX_ATTEMPTS = 3
# GET /health: its own tighter client, one attempt, well under Route 53's 2 s.
HEALTH_CONNECT_TIMEOUT_SECONDS = 0.3
HEALTH_READ_TIMEOUT_SECONDS = 0.5
HEALTH_MAX_ATTEMPTS = 1
# How long one container reuses a health result. At the default settings Route 53
# probes each region about every 5 s (≈5.6 checkers every 30 s); with all 8 checker
# regions at 10 s, about every 0.7 s (≈15 checkers every 10 s). See docs/costs.md.
HEALTH_CACHE_SECONDS = 5.0
# A Lambda container serves one request at a time: botocore's default pool (10)
# is plenty. Local mode runs every request of one process through one client.
SDK_MAX_POOL_CONNECTIONS = 10
LOCAL_MAX_POOL_CONNECTIONS = 64
# Retry-After (seconds) on 503 answers.
RETRY_AFTER_THROTTLED_SECONDS = 1
RETRY_AFTER_UNAVAILABLE_SECONDS = 2
API_GATEWAY_TIMEOUT_SECONDS = 29


def sdk_worst_case_seconds(connect: float, read: float, attempts: int) -> float:
    """Longest one SDK call can take: every attempt times out, every backoff is maximal."""
    backoff = sum(min(2.0**i, 20.0) for i in range(attempts - 1))
    return attempts * (connect + read) + backoff


# 3 x (0.5 + 1.0) + (1 + 2) = 7.5 s: the Lambda timeout must be above this.
SDK_WORST_CASE_SECONDS = sdk_worst_case_seconds(
    SDK_CONNECT_TIMEOUT_SECONDS, SDK_READ_TIMEOUT_SECONDS, SDK_MAX_ATTEMPTS
)
HEALTH_WORST_CASE_SECONDS = sdk_worst_case_seconds(
    HEALTH_CONNECT_TIMEOUT_SECONDS, HEALTH_READ_TIMEOUT_SECONDS, HEALTH_MAX_ATTEMPTS
)
# Smallest Lambda timeout (whole seconds) that leaves room for one worst-case call.
LAMBDA_TIMEOUT_MIN_SECONDS = int(SDK_WORST_CASE_SECONDS) + 2
