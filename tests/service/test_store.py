"""DynamoDB requests per API call, counted on the wire with botocore event hooks."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from handlers import contract
from handlers.routes import item_id_for_key
from handlers.store import Registration, to_item
from local_api.dynalite import Dynalite
from tests.service.support import (
    FORWARD,
    Backend,
    Decision,
    FaultProxy,
    Incoming,
    Reply,
    Service,
    shared_admin_client,
    start_service,
)


def test_dynamodb_requests_per_call(service: Service) -> None:
    counts: dict[str, object] = {}

    service.data_requests.take()
    registered = service.post()
    counts["register"] = service.data_requests.take()

    key = str(uuid.uuid4())
    service.post(headers={contract.IDEMPOTENCY_HEADER: key})
    counts["register with a new key"] = service.data_requests.take()
    repeat = service.post(headers={contract.IDEMPOTENCY_HEADER: key})
    counts["idempotent repeat"] = service.data_requests.take()

    first_page = service.get("/getEpoch", params={"limit": 1})
    counts["list page"] = service.data_requests.take()
    service.get("/getEpoch", params={"limit": 1, "cursor": first_page.json()["next"]})
    counts["next page"] = service.data_requests.take()

    service.get(f"/getEpoch/{registered.json()['id']}")
    counts["get one"] = service.data_requests.take()

    service.get("/health")
    counts["health"] = service.health_requests.take()
    service.get("/health")
    counts["health, cached"] = service.health_requests.take()

    service.post(headers={contract.IDEMPOTENCY_HEADER: "bad key!"})
    service.get("/getEpoch", params={"cursor": "garbage!"})
    service.get("/getEpoch/nothex")
    service.get("/nowhere")
    counts["rejected requests"] = service.data_requests.take()

    assert repeat.status_code == 200
    assert counts == {
        "register": {"PutItem": 1},
        "register with a new key": {"PutItem": 1},
        # dynalite does not return the ALL_OLD item on a failed condition, so the
        # stored registration takes one consistent GetItem (DynamoDB returns it: 1 request).
        "idempotent repeat": {"PutItem": 1, "GetItem": 1},
        "list page": {"Query": 1},
        "next page": {"Query": 1},
        "get one": {"GetItem": 1},
        "health": {"GetItem": 1},
        "health, cached": {},
        "rejected requests": {},
    }


def test_an_idempotent_repeat_on_dynamodb_costs_one_request(dynalite: Dynalite) -> None:
    """DynamoDB returns the stored item with a failed condition when asked
    (ReturnValuesOnConditionCheckFailure=ALL_OLD); dynalite does not. A proxy in
    front of dynalite answers that PutItem the way DynamoDB does, on the wire."""
    key = str(uuid.uuid4())
    stored = Registration(item_id_for_key(key), 1_700_000_000_123, "ap-southeast-2")

    def answer_like_dynamodb(request: Incoming) -> Decision:
        if request.dynamodb_operation != "PutItem":
            return FORWARD
        sent = json.loads(request.body)
        assert sent["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
        assert sent["ConditionExpression"] == "attribute_not_exists(#pk)"
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": to_item(stored),
        }
        return Reply(400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body).encode())

    proxy = FaultProxy(dynalite.endpoint_url, answer_like_dynamodb)
    service = start_service(proxy.url, admin_endpoint_url=dynalite.endpoint_url)
    try:
        repeat = service.post(headers={contract.IDEMPOTENCY_HEADER: key})
        counted = service.data_requests.take()
    finally:
        service.stop()
        proxy.stop()
    assert repeat.status_code == 200
    assert repeat.json() == stored.to_json()
    assert counted == {"PutItem": 1}
    assert proxy.operations() == {"PutItem": 1}


def test_a_sharded_list_costs_one_query_per_shard_and_a_write_still_one_request(
    backend: Backend,
) -> None:
    service = backend.serve(list_shards=4)
    try:
        for _ in range(3):
            service.post()
        service.data_requests.take()
        service.post()
        register = service.data_requests.take()
        first = service.get("/getEpoch", params={"limit": 2}).json()
        page = service.data_requests.take()
        service.get("/getEpoch", params={"limit": 2, "cursor": first["next"]})
        next_page = service.data_requests.take()
    finally:
        service.stop()
    assert register == {"PutItem": 1}
    assert page == next_page == {"Query": 4}


def test_shards_spread_registrations_and_raising_them_keeps_every_item_listed(
    backend: Backend,
) -> None:
    one = backend.serve(list_shards=1)
    table = one.settings.table_name
    try:
        before = [one.post().json()["id"] for _ in range(12)]
    finally:
        one.stop()
    four = backend.serve(table_name=table, list_shards=4)
    try:
        after = [four.post().json()["id"] for _ in range(40)]
        listed = four.get("/getEpoch", params={"limit": 100}).json()
        partitions = Counter(
            item[contract.LIST_INDEX_HASH_KEY]["S"]
            for item in four.admin.scan(TableName=table, ConsistentRead=True)["Items"]
        )
    finally:
        four.stop()
    assert sorted(item["id"] for item in listed["items"]) == sorted(before + after)
    assert listed["next"] is None
    assert set(partitions) == {contract.list_partition(shard) for shard in range(4)}
    assert partitions[contract.list_partition(0)] >= len(before)


@pytest.mark.parametrize("shards", [1, 4])
def test_a_shard_answer_cut_short_by_dynamodb_loses_nothing(
    dynalite: Dynalite, shards: int
) -> None:
    """DynamoDB stops a Query at 1 MB with a LastEvaluatedKey and fewer items than
    asked for. A proxy answers every Query on shard 0 that way (2 items at most):
    the walk must still list every registration once, newest first."""
    admin = shared_admin_client(dynalite.endpoint_url)
    cut = contract.list_partition(0)

    def cut_shard_zero(request: Incoming) -> Decision:
        sent = json.loads(request.body)
        if request.dynamodb_operation != "Query":
            return FORWARD
        if sent["ExpressionAttributeValues"][":lp"]["S"] != cut:
            return FORWARD
        answer = admin.query(**{**sent, "Limit": 2})
        answer.pop("ResponseMetadata")
        assert "LastEvaluatedKey" in answer or answer["Count"] < 2
        return Reply(
            200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(answer).encode()
        )

    proxy = FaultProxy(dynalite.endpoint_url, cut_shard_zero)
    service = start_service(proxy.url, admin_endpoint_url=dynalite.endpoint_url, list_shards=shards)
    try:
        stored = [service.post().json() for _ in range(30)]
        walked, _ = service.walk(7)
    finally:
        service.stop()
        proxy.stop()
    expected = sorted(stored, key=lambda b: (b["epoch_ms"], b["id"]), reverse=True)
    assert walked == expected
