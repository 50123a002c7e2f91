"""Retention (settings `table.retention_days`): TTL on registrations, and reads that
hide expired items DynamoDB has not deleted yet (TTL deletes lazily, days later).

dynalite stores the TTL attribute but never deletes: exactly the state of an item
that has expired and is still in the table and its index.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import contract, store
from handlers.routes import encode_cursor, item_id_for_key
from handlers.runtime import Settings
from tests.service.support import REGION, Backend, Service

DAYS = 30
DAY_MS = contract.MS_PER_DAY


@pytest.fixture(params=[1, 4], ids=["1-shard", "4-shards"])
def retained(backend: Backend, request: pytest.FixtureRequest) -> Iterator[Service]:
    serving = backend.serve(list_shards=request.param, retention_days=DAYS)
    yield serving
    serving.stop()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def put_aged(service: Service, age_ms: int, item_id: str | None = None) -> store.Registration:
    """A registration written `age_ms` ago under this retention, straight into the table."""
    registration = store.Registration(item_id or uuid.uuid4().hex, now_ms() - age_ms, REGION)
    service.admin.put_item(
        TableName=service.settings.table_name,
        Item=store.to_item(registration, service.settings.list_shards, DAYS),
        ConditionExpression="attribute_not_exists(pk)",
    )
    return registration


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_a_registration_carries_its_expiry_when_retention_is_on(retained: Service) -> None:
    body = retained.post().json()
    item = retained.stored_item(body["id"])
    assert item is not None
    assert int(item[contract.TTL_ATTRIBUTE]["N"]) == body["epoch"] + DAYS * 86_400


def test_without_retention_nothing_expires(service: Service) -> None:
    body = service.post().json()
    item = service.stored_item(body["id"])
    assert item is not None
    assert contract.TTL_ATTRIBUTE not in item


def test_an_expired_registration_is_not_found_until_and_after_ttl_deletes_it(
    retained: Service,
) -> None:
    expired = put_aged(retained, DAYS * DAY_MS + 60_000)
    live = put_aged(retained, DAYS * DAY_MS - 60_000)
    item = retained.stored_item(expired.id)
    assert item is not None
    # Its TTL is in the past, and the item is still there (TTL has not run).
    assert int(item[contract.TTL_ATTRIBUTE]["N"]) < time.time()
    assert retained.get(f"/getEpoch/{expired.id}").status_code == 404
    response = retained.get(f"/getEpoch/{live.id}")
    assert response.status_code == 200
    assert response.json() == live.to_json()


def test_pages_list_only_unexpired_items_and_end_cleanly(retained: Service) -> None:
    expired = [put_aged(retained, DAYS * DAY_MS + age) for age in range(1_000, 8_000, 1_000)]
    live = [put_aged(retained, DAYS * DAY_MS - age) for age in range(60_000, 420_000, 60_000)]
    for _ in range(3):
        body = retained.post().json()
        live.append(store.Registration(body["id"], body["epoch_ms"], body["region"]))
    expected = sorted(live, key=lambda r: (r.epoch_ms, r.id), reverse=True)
    for limit in (1, 2, 4, len(live), len(live) + 1, contract.LIST_LIMIT_MAX):
        walked, pages = retained.walk(limit)
        assert ids(walked) == [r.id for r in expected], limit
        # A page is never empty with a next cursor, and the walk ends on the last live item.
        assert pages == -(-len(live) // limit), limit
    assert len(retained.stored_ids()) == len(live) + len(expired)


def test_only_expired_items_list_as_empty(retained: Service) -> None:
    for age in (1_000, 2_000, 3_000):
        put_aged(retained, DAYS * DAY_MS + age)
    body = retained.get("/getEpoch").json()
    assert body["items"] == []
    assert body["next"] is None


def test_a_cursor_at_an_item_that_has_expired_since_ends_the_list(retained: Service) -> None:
    older = put_aged(retained, DAYS * DAY_MS + 1_000)
    put_aged(retained, DAYS * DAY_MS + 2_000)
    live = put_aged(retained, 1_000)
    cursor = encode_cursor(
        {
            contract.HASH_KEY: older.id,
            contract.LIST_INDEX_RANGE_KEY: contract.list_sort_key(older.epoch_ms, older.id),
        }
    )
    response = retained.get("/getEpoch", params={"cursor": cursor})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["next"] is None
    assert ids(retained.get("/getEpoch").json()["items"]) == [live.id]


def test_an_idempotency_key_expires_with_its_registration(retained: Service) -> None:
    key = "expiring-key-0001"
    old = put_aged(retained, DAYS * DAY_MS + 1_000, item_id_for_key(key))
    first = retained.post(headers={contract.IDEMPOTENCY_HEADER: key})
    assert first.status_code == 201
    assert first.json()["id"] == old.id
    assert first.json()["epoch_ms"] > old.epoch_ms + DAYS * DAY_MS
    again = retained.post(headers={contract.IDEMPOTENCY_HEADER: key})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert retained.get(f"/getEpoch/{old.id}").json() == first.json()


def test_an_unexpired_idempotency_key_still_answers_its_registration(retained: Service) -> None:
    key = "kept-key-00000001"
    old = put_aged(retained, DAYS * DAY_MS - 60_000, item_id_for_key(key))
    response = retained.post(headers={contract.IDEMPOTENCY_HEADER: key})
    assert response.status_code == 200
    assert response.json() == old.to_json()


def test_retention_comes_from_the_environment_and_defaults_to_forever() -> None:
    assert Settings.from_env({contract.ENV_TABLE_NAME: "t"}).retention_days == 0
    env = {contract.ENV_TABLE_NAME: "t", contract.ENV_RETENTION_DAYS: "30"}
    assert Settings.from_env(env).retention_days == 30


@pytest.mark.parametrize("value", ["-1", "3651", "thirty", "1.5"])
def test_a_bad_retention_fails_at_start_up(value: str) -> None:
    with pytest.raises(RuntimeError, match=contract.ENV_RETENTION_DAYS):
        Settings.from_env({contract.ENV_TABLE_NAME: "t", contract.ENV_RETENTION_DAYS: value})
