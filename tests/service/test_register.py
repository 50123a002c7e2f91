"""POST /EpochRegisterTime through the local API: success, idempotency, validation."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import requests

from handlers import contract
from handlers.routes import item_id_for_key
from local_api.dynalite import Dynalite
from tests.service.clients import connect, run_threads
from tests.service.support import REGION, Service, start_service


def test_register_returns_201_and_stores_the_item(service: Service) -> None:
    before = time.time()
    response = service.post()
    after = time.time()

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "epoch", "epoch_ms", "region"}
    assert len(body["id"]) == 32
    assert int(body["id"], 16) >= 0
    assert int(before * 1000) - 1 <= body["epoch_ms"] <= int(after * 1000) + 1
    assert body["epoch"] == body["epoch_ms"] // 1000
    assert body["region"] == REGION
    assert response.headers["Location"] == f"/getEpoch/{body['id']}"

    item = service.stored_item(body["id"])
    assert item == {
        contract.HASH_KEY: {"S": body["id"]},
        contract.LIST_INDEX_HASH_KEY: {"S": contract.LIST_PARTITION_VALUE},
        contract.LIST_INDEX_RANGE_KEY: {"S": contract.list_sort_key(body["epoch_ms"], body["id"])},
        "epoch": {"N": str(body["epoch"])},
        "epoch_ms": {"N": str(body["epoch_ms"])},
        "region": {"S": REGION},
    }


def test_each_registration_without_a_key_is_a_new_item(service: Service) -> None:
    ids = {service.post().json()["id"] for _ in range(5)}
    assert len(ids) == 5
    assert sorted(service.stored_ids()) == sorted(ids)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{}", "application/json"),
        (b"{}", "application/json; charset=utf-8"),
        (b"  { }\n", "Application/JSON"),
    ],
)
def test_empty_json_object_body_is_accepted(
    service: Service, body: bytes, content_type: str
) -> None:
    response = service.post(data=body, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"note": "x"}', "application/json", 400, "invalid_body"),
        (b"[]", "application/json", 400, "invalid_body"),
        (b"null", "application/json", 400, "invalid_body"),
        (b"not json", "application/json", 400, "invalid_body"),
        (b"NaN", "application/json", 400, "invalid_body"),
        (b"{", "application/json", 400, "invalid_body"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_body"),
        (b"[" * 1000, "application/json", 400, "invalid_body"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
        (b"{}", "application/json; charset=latin-1", 415, "unsupported_media_type"),
        (b"{}", "", 415, "unsupported_media_type"),
        (b"{" + b" " * contract.MAX_BODY_BYTES + b"}", "application/json", 413, "too_large"),
    ],
)
def test_invalid_bodies_are_rejected_without_a_write(
    service: Service, body: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = service.post(data=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text
    assert service.stored_ids() == []


def test_idempotent_repeat_returns_the_first_registration(service: Service) -> None:
    key = str(uuid.uuid4())
    first = service.post(headers={contract.IDEMPOTENCY_HEADER: key})
    time.sleep(0.01)
    second = service.post(headers={contract.IDEMPOTENCY_HEADER: key})

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["id"] == item_id_for_key(key)
    assert second.headers["Location"] == first.headers["Location"]
    assert service.stored_ids() == [first.json()["id"]]


def test_different_keys_make_different_items(service: Service) -> None:
    ids = {
        service.post(headers={contract.IDEMPOTENCY_HEADER: f"key-{n:04d}"}).json()["id"]
        for n in range(3)
    }
    assert len(ids) == 3
    assert sorted(service.stored_ids()) == sorted(ids)


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "x" * (contract.IDEMPOTENCY_KEY_MAX_LENGTH + 1),
        "has a space",
        "semi;colon1",
        "slash/is/not/ok",
        "caf\u00e9-latin1-char",
    ],
)
def test_invalid_idempotency_keys_are_rejected(service: Service, key: str) -> None:
    response = service.post(headers={contract.IDEMPOTENCY_HEADER: key.encode("latin-1")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert service.stored_ids() == []


def test_longest_and_shortest_keys_are_accepted(service: Service) -> None:
    for key in (
        "a" * contract.IDEMPOTENCY_KEY_MIN_LENGTH,
        "Z" * contract.IDEMPOTENCY_KEY_MAX_LENGTH,
    ):
        assert service.post(headers={contract.IDEMPOTENCY_HEADER: key}).status_code == 201


def test_a_repeated_idempotency_header_is_rejected(service: Service) -> None:
    connection = connect(service.url)
    connection.putrequest("POST", "/EpochRegisterTime")
    connection.putheader(contract.IDEMPOTENCY_HEADER, "first-key-1")
    connection.putheader(contract.IDEMPOTENCY_HEADER, "second-key-2")
    connection.putheader("Content-Length", "0")
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 400
    assert body["error"]["code"] == "bad_request"
    assert service.stored_ids() == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (contract.IDEMPOTENCY_HEADER, contract.IDEMPOTENCY_HEADER.lower()),
        ("Content-Type", "content-type"),
    ],
)
def test_a_header_repeated_in_another_case_is_rejected(
    service: Service, first: str, second: str
) -> None:
    """curl -H 'Idempotency-Key: a...' -H 'idempotency-key: b...' registered under b (201)."""
    values, body = {
        "Idempotency-Key": (("first-key-1", "second-key-2"), b""),
        "Content-Type": (("application/json", "text/plain"), b"{}"),
    }[first]
    connection = connect(service.url)
    connection.putrequest("POST", "/EpochRegisterTime")
    connection.putheader(first, values[0])
    connection.putheader(second, values[1])
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert (response.status, answer.get("error")) == (
        400,
        {"code": "bad_request", "message": f"header {first} must be given at most once"},
    )
    assert service.stored_ids() == []


def test_concurrent_requests_with_one_key_create_one_item(service: Service) -> None:
    key = str(uuid.uuid4())
    results: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def send(_index: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.post(
                service.url + "/EpochRegisterTime",
                headers={contract.IDEMPOTENCY_HEADER: key},
                timeout=30,
            )
        with lock:
            results.append((response.status_code, response.json()))

    run_threads(16, send)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 15 + [201]
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert service.stored_ids() == [item_id_for_key(key)]


def test_a_retry_in_another_region_returns_the_first_registration(
    service: Service, dynalite: Dynalite
) -> None:
    # Two regional deployments over one table stand in for a global table's replicas.
    other = start_service(
        dynalite.endpoint_url, table_name=service.settings.table_name, region="ap-south-1"
    )
    try:
        key = str(uuid.uuid4())
        first = service.post(headers={contract.IDEMPOTENCY_HEADER: key})
        retry = other.post(headers={contract.IDEMPOTENCY_HEADER: key})
    finally:
        other.stop()
    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["region"] == REGION
    assert service.stored_ids() == [first.json()["id"]]
