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
# "true" forces GET /health to answer 503 (failover drills, settings `drain`/`drill`).
ENV_FORCE_UNHEALTHY = "FORCE_UNHEALTHY"
# Only in local mode and tests: where the DynamoDB-compatible server listens.
ENV_DYNAMODB_ENDPOINT = "DYNAMODB_ENDPOINT_URL"
# Set by the Lambda runtime itself; local mode sets it too.
ENV_REGION = "AWS_REGION"

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

# --- Table key schema ---------------------------------------------------------
# Main table: one item per registration, hash key = registration id
# (put by id, get by id). The list index keeps every registration in one
# ordered partition so that a page of "newest first" is exactly one Query;
# see README "Data model" for the write-rate limit this implies.
HASH_KEY = "pk"
LIST_INDEX_NAME = "by_time"
LIST_INDEX_HASH_KEY = "list_pk"
LIST_INDEX_RANGE_KEY = "list_sk"
LIST_PARTITION_VALUE = "registrations"
# Non-key attributes copied into the index (INCLUDE projection).
LIST_INDEX_PROJECTED = ("epoch", "epoch_ms", "region")
# Every key attribute is a string.
KEY_ATTRIBUTES: tuple[str, ...] = (HASH_KEY, LIST_INDEX_HASH_KEY, LIST_INDEX_RANGE_KEY)


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
