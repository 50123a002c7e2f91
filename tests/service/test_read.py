"""GET /getEpoch (pages, cursors) and GET /getEpoch/{id} through the local API."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from typing import Any

import pytest
import requests

from handlers import contract
from handlers.routes import encode_cursor
from tests.service.support import REGION, Service


def register(service: Service, count: int) -> list[dict[str, Any]]:
    bodies = []
    for _ in range(count):
        response = service.post()
        assert response.status_code == 201
        bodies.append(response.json())
    return bodies


def newest_first(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(bodies, key=lambda b: (b["epoch_ms"], b["id"]), reverse=True)


def test_list_is_newest_first_with_the_default_limit(any_shards_service: Service) -> None:
    service = any_shards_service
    registered = register(service, contract.LIST_LIMIT_DEFAULT + 5)
    before = int(time.time())
    response = service.get("/getEpoch")
    after = int(time.time())

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"now", "region", "items", "next"}
    assert before <= body["now"] <= after
    assert body["region"] == REGION
    assert body["items"] == newest_first(registered)[: contract.LIST_LIMIT_DEFAULT]
    assert isinstance(body["next"], str)


def test_the_last_page_has_no_next_cursor(any_shards_service: Service) -> None:
    service = any_shards_service
    registered = register(service, 4)
    first = service.get("/getEpoch", params={"limit": 2}).json()
    last = service.get("/getEpoch", params={"limit": 2, "cursor": first["next"]}).json()
    assert first["items"] + last["items"] == newest_first(registered)
    assert last["next"] is None
    whole = service.get("/getEpoch", params={"limit": 4}).json()
    assert whole["items"] == newest_first(registered)
    assert whole["next"] is None


def test_an_empty_table_lists_nothing(service: Service) -> None:
    body = service.get("/getEpoch").json()
    assert body["items"] == []
    assert body["next"] is None


@pytest.mark.parametrize("limit", [1, 3, contract.LIST_LIMIT_MAX])
def test_limit_bounds_the_page(service: Service, limit: int) -> None:
    registered = register(service, 4)
    body = service.get("/getEpoch", params={"limit": limit}).json()
    assert body["items"] == newest_first(registered)[:limit]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={contract.LIST_LIMIT_MAX + 1}",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "limit=1e1",
        "limit=%205",
        "limit=1&limit=2",
        "cursor=a&cursor=b",
    ],
)
def test_invalid_limits_are_rejected(service: Service, query: str) -> None:
    response = service.get(f"/getEpoch?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def _b64(document: object) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


VALID_ID = "0123456789abcdef0123456789abcdef"
VALID_SORT_KEY = contract.list_sort_key(1_700_000_000_000, VALID_ID)
VALID_CURSOR = encode_cursor({"pk": VALID_ID, "list_sk": VALID_SORT_KEY})


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "e30",  # {}
        _b64([VALID_ID, VALID_SORT_KEY]),
        _b64({"pk": VALID_ID}),
        _b64({"pk": VALID_ID, "list_sk": VALID_SORT_KEY, "extra": 1}),
        _b64({"pk": 1, "list_sk": VALID_SORT_KEY}),
        _b64({"pk": "x" * 32, "list_sk": VALID_SORT_KEY}),
        _b64({"pk": VALID_ID, "list_sk": contract.list_sort_key(1, "f" * 32)}),
        _b64({"pk": VALID_ID, "list_sk": "not-a-sort-key"}),
        VALID_CURSOR + "=",
        VALID_CURSOR + "A",
        VALID_CURSOR[:-2],
        "A" * (contract.CURSOR_LENGTH + 1),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
def test_garbage_cursors_are_rejected(service: Service, cursor: str) -> None:
    response = service.get("/getEpoch", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_well_formed_cursor_for_an_unknown_item_is_accepted(service: Service) -> None:
    response = service.get("/getEpoch", params={"cursor": VALID_CURSOR})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_a_well_formed_cursor_is_a_position_whoever_wrote_it(service: Service) -> None:
    """docs/api.md: the API checks a cursor's form, not who made it. One written by
    hand resumes strictly below the (time, id) it names, as an issued one does."""
    oldest, middle, newest = newest_first(register(service, 3))[::-1]
    assert newest["epoch_ms"] >= middle["epoch_ms"] >= oldest["epoch_ms"]
    # A position no registration holds: the middle one's time, the largest id.
    forged_id = "f" * 32
    forged = encode_cursor(
        {"pk": forged_id, "list_sk": contract.list_sort_key(middle["epoch_ms"], forged_id)}
    )
    response = service.get("/getEpoch", params={"cursor": forged})
    assert response.status_code == 200
    expected = [
        body
        for body in (newest, middle, oldest)
        if (body["epoch_ms"], body["id"]) < (middle["epoch_ms"], forged_id)
    ]
    assert middle in expected
    assert response.json()["items"] == expected


def test_a_walk_sees_every_item_once_while_new_items_arrive(any_shards_service: Service) -> None:
    service = any_shards_service
    existing = register(service, 57)
    existing_ids = {body["id"] for body in existing}
    written_during_walk: list[str] = []
    unexpected: list[int] = []
    wrote = threading.Semaphore(0)
    stop = threading.Event()

    def writer() -> None:
        # As a careful client writes: a 503 can be a write whose answer was lost (it
        # stays stored), so it is retried with the same Idempotency-Key until answered.
        with requests.Session() as session:
            for number in itertools.count():
                key = {"Idempotency-Key": f"walk-writer-{number:06d}"}
                for _attempt in range(20):
                    response = session.post(
                        service.url + "/EpochRegisterTime", headers=key, timeout=30
                    )
                    if response.status_code != 503:
                        break
                if response.status_code in (200, 201):
                    written_during_walk.append(response.json()["id"])
                    wrote.release()
                else:
                    unexpected.append(response.status_code)
                if stop.is_set() or unexpected:
                    return

    def after_a_new_write() -> None:
        # Each next page waits for one more stored write: pages and writes interleave.
        assert wrote.acquire(timeout=30), "the writer stored nothing in 30 s"

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        walked, pages = service.walk(7, between_pages=after_a_new_write)
    finally:
        stop.set()
        thread.join()

    assert unexpected == []
    walked_ids = [body["id"] for body in walked]
    assert len(walked_ids) == len(set(walked_ids)), "an item was listed twice"
    assert existing_ids <= set(walked_ids), "an item that existed at the start was missed"
    assert set(walked_ids) <= existing_ids | set(written_during_walk)
    assert walked == newest_first(walked)
    assert pages >= 57 // 7
    assert len(written_during_walk) >= pages - 1, "the writer did not overlap the walk"


def test_get_one_returns_the_registration(service: Service) -> None:
    registered = service.post().json()
    response = service.get(f"/getEpoch/{registered['id']}")
    assert response.status_code == 200
    assert response.json() == registered


def test_get_one_unknown_id_is_404(service: Service) -> None:
    response = service.get(f"/getEpoch/{VALID_ID}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("item_id", ["xyz", VALID_ID.upper(), VALID_ID[:-1], VALID_ID + "0", "%00"])
def test_get_one_malformed_id_is_400(service: Service, item_id: str) -> None:
    response = service.get(f"/getEpoch/{item_id}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_id"


@pytest.mark.parametrize("path", ["/getEpoch/", "/getEpoch/a/b", "/getepoch", "/getEpoch//x"])
def test_paths_next_to_the_routes_are_404(service: Service, path: str) -> None:
    response = service.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
