"""DynamoDB access: one request per operation, SDK failures turned into 503 answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as SdkConnectionError

from handlers import api, contract
from handlers.logs import get_logger

_log = get_logger()

# Error codes DynamoDB (and botocore's retry logic) treat as throttling.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
    }
)
CONDITION_FAILED = "ConditionalCheckFailedException"
HEALTH_PROBE_KEY = "health-probe"


class Registration(NamedTuple):
    """One registered epoch time."""

    id: str
    epoch_ms: int
    region: str

    @property
    def epoch(self) -> int:
        return self.epoch_ms // 1000

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "epoch": self.epoch,
            "epoch_ms": self.epoch_ms,
            "region": self.region,
        }


def to_item(
    registration: Registration,
    shards: int = contract.LIST_SHARDS_DEFAULT,
    retention_days: int = 0,
) -> dict[str, Any]:
    """The table item (main table key and list index key) for a registration, with
    the TTL attribute when registrations are kept `retention_days` days."""
    shard = contract.list_shard(registration.id, shards)
    item = {
        contract.HASH_KEY: {"S": registration.id},
        contract.LIST_INDEX_HASH_KEY: {"S": contract.list_partition(shard)},
        contract.LIST_INDEX_RANGE_KEY: {
            "S": contract.list_sort_key(registration.epoch_ms, registration.id)
        },
        "epoch": {"N": str(registration.epoch)},
        "epoch_ms": {"N": str(registration.epoch_ms)},
        "region": {"S": registration.region},
    }
    if retention_days > 0:
        expires = registration.epoch + retention_days * contract.MS_PER_DAY // 1000
        item[contract.TTL_ATTRIBUTE] = {"N": str(expires)}
    return item


def is_expired(registration: Registration, cutoff_ms: int | None) -> bool:
    """Whether a registration is past its retention (contract.retention_cutoff_ms)."""
    return cutoff_ms is not None and registration.epoch_ms <= cutoff_ms


def from_item(item: dict[str, Any]) -> Registration:
    return Registration(
        id=item[contract.HASH_KEY]["S"],
        epoch_ms=int(item["epoch_ms"]["N"]),
        region=item["region"]["S"],
    )


@contextmanager
def _sdk_errors(operation: str) -> Iterator[None]:
    """Throttling, DynamoDB-side failures and unreachable endpoints -> 503 + Retry-After.

    The SDK has already retried with backoff (contract.SDK_MAX_ATTEMPTS) when
    these arrive. Anything else (a request we built wrong) propagates.
    """
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        metadata = exc.response.get("ResponseMetadata", {})
        status = int(metadata.get("HTTPStatusCode") or 0)
        fields = {
            "dynamodb_operation": operation,
            "dynamodb_error": code,
            "retry_attempts": metadata.get("RetryAttempts"),
        }
        if code in THROTTLING_CODES:
            _log.warning("dynamodb throttled", extra={"fields": fields})
            raise api.unavailable(
                api.THROTTLED,
                "the database is throttling requests; retry later",
                contract.RETRY_AFTER_THROTTLED_SECONDS,
            ) from exc
        if status >= 500 or code == "ResourceNotFoundException":
            _log.error("dynamodb unavailable", extra={"fields": fields})
            raise api.unavailable(
                api.UNAVAILABLE,
                "the database is unavailable; retry later",
                contract.RETRY_AFTER_UNAVAILABLE_SECONDS,
            ) from exc
        raise
    except (SdkConnectionError, HTTPClientError) as exc:
        # Connect/read timeouts, refused or reset connections (all retried by the SDK).
        _log.error(
            "dynamodb unreachable",
            extra={
                "fields": {"dynamodb_operation": operation, "dynamodb_error": type(exc).__name__}
            },
        )
        raise api.unavailable(
            api.UNAVAILABLE,
            "the database is unreachable; retry later",
            contract.RETRY_AFTER_UNAVAILABLE_SECONDS,
        ) from exc


def put_new(
    client: Any,
    table: str,
    registration: Registration,
    shards: int = contract.LIST_SHARDS_DEFAULT,
    retention_days: int = 0,
) -> Registration | None:
    """Store a registration unless its id exists: one conditional PutItem.

    Returns None when it was stored, else the registration already stored
    under that id (from the failed condition's ALL_OLD item where DynamoDB
    returns it, else from one consistent GetItem). With retention on, an
    expired item under the id (TTL deletes lazily) counts as absent and is
    replaced: an idempotency key expires with its registration.
    """
    condition = "attribute_not_exists(#pk)"
    names = {"#pk": contract.HASH_KEY}
    values: dict[str, Any] = {}
    cutoff = contract.retention_cutoff_ms(registration.epoch_ms, retention_days)
    if cutoff is not None:
        condition += " OR #ms <= :cutoff"
        names["#ms"] = "epoch_ms"
        values[":cutoff"] = {"N": str(cutoff)}
    with _sdk_errors("PutItem"):
        try:
            client.put_item(
                TableName=table,
                Item=to_item(registration, shards, retention_days),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            old = exc.response.get("Item")
            if old:
                return from_item(old)
        else:
            return None
    existing = get(client, table, registration.id, cutoff)
    if existing is None:
        # Only if the item was deleted between the two requests.
        raise api.unavailable(
            api.UNAVAILABLE,
            "the registration changed concurrently; retry",
            contract.RETRY_AFTER_UNAVAILABLE_SECONDS,
        )
    return existing


def get(client: Any, table: str, item_id: str, cutoff_ms: int | None = None) -> Registration | None:
    """One consistent GetItem by id; an item expired at `cutoff_ms` counts as absent."""
    with _sdk_errors("GetItem"):
        result = client.get_item(
            TableName=table, Key={contract.HASH_KEY: {"S": item_id}}, ConsistentRead=True
        )
    item = result.get("Item")
    if not item:
        return None
    registration = from_item(item)
    return None if is_expired(registration, cutoff_ms) else registration


class Page(NamedTuple):
    items: list[Registration]
    last_key: dict[str, str] | None


def _sort_key(registration: Registration) -> str:
    return contract.list_sort_key(registration.epoch_ms, registration.id)


def _key_of(registration: Registration) -> dict[str, str]:
    return {
        contract.HASH_KEY: registration.id,
        contract.LIST_INDEX_RANGE_KEY: _sort_key(registration),
    }


def query_page(
    client: Any,
    table: str,
    limit: int,
    start: dict[str, str] | None,
    shards: int = contract.LIST_SHARDS_DEFAULT,
    cutoff_ms: int | None = None,
) -> Page:
    """One page of the list index, newest first, after `start` (pk, list_sk).

    One Query per shard: exactly one with the default single shard. Each asks
    for one item more than the page, so that `last_key` is None exactly on the
    last page. Sort keys are unique and totally ordered, so the page is the
    `limit` newest of the merged answers and the next page starts strictly
    below its last item in every shard: one (pk, list_sk) cursor serves any
    shard count. Items expired at `cutoff_ms` (not yet deleted by TTL) end
    their shard's list: everything after them is older still.
    """
    answers = [
        _query_shard(client, table, shard, limit + 1, start, cutoff_ms) for shard in range(shards)
    ]
    merged = sorted((item for items, _ in answers for item in items), key=_sort_key, reverse=True)
    # A shard DynamoDB cut short (its 1 MB response limit) may hold unseen items
    # just below its last one: the page must not reach past that point.
    cutoffs = [last for items, last in answers if last is not None and len(items) <= limit]
    if cutoffs:
        floor = max(cutoffs)
        merged = [item for item in merged if _sort_key(item) >= floor]
    page = merged[:limit]
    more = len(merged) > limit or bool(cutoffs)
    if not more:
        return Page(page, None)
    if page:
        return Page(page, _key_of(page[-1]))
    # Nothing fits before the cutoff (only if DynamoDB returned a key and no
    # item): resume below the cutoff itself.
    floor_id = floor.rpartition("#")[2]
    return Page(page, {contract.HASH_KEY: floor_id, contract.LIST_INDEX_RANGE_KEY: floor})


def _query_shard(
    client: Any,
    table: str,
    shard: int,
    limit: int,
    start: dict[str, str] | None,
    cutoff_ms: int | None,
) -> tuple[list[Registration], str | None]:
    """One Query on one list partition: its unexpired items (newest first), and
    the sort key DynamoDB stopped at if it cut the answer short (None once an
    expired item shows that nothing newer is left below)."""
    condition = "#lp = :lp"
    names = {"#lp": contract.LIST_INDEX_HASH_KEY}
    values: dict[str, Any] = {":lp": {"S": contract.list_partition(shard)}}
    if start is not None:
        condition += " AND #ls < :ls"
        names["#ls"] = contract.LIST_INDEX_RANGE_KEY
        values[":ls"] = {"S": start[contract.LIST_INDEX_RANGE_KEY]}
    with _sdk_errors("Query"):
        result = client.query(
            TableName=table,
            IndexName=contract.LIST_INDEX_NAME,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
    items = [from_item(item) for item in result.get("Items", [])]
    last = result.get("LastEvaluatedKey")
    live = [item for item in items if not is_expired(item, cutoff_ms)]
    if len(live) < len(items):
        return live, None
    return items, (last[contract.LIST_INDEX_RANGE_KEY]["S"] if last else None)


def probe(client: Any, table: str) -> None:
    """One small GetItem: raises ApiError(503) unless the table answers it."""
    try:
        with _sdk_errors("GetItem"):
            client.get_item(
                TableName=table,
                Key={contract.HASH_KEY: {"S": HEALTH_PROBE_KEY}},
                ProjectionExpression="#pk",
                ExpressionAttributeNames={"#pk": contract.HASH_KEY},
            )
    except (ClientError, BotoCoreError) as exc:
        # Any other refusal (e.g. access denied, missing credentials) is unhealthy too.
        _log.error(
            "health probe failed",
            extra={"fields": {"dynamodb_operation": "GetItem", "dynamodb_error": repr(exc)}},
        )
        raise api.unavailable(
            api.UNAVAILABLE,
            "the table did not answer",
            contract.RETRY_AFTER_UNAVAILABLE_SECONDS,
        ) from exc
