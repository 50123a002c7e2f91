"""Faults: dynalite stopped and restarted under traffic; DynamoDB throttling."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.stub import Stubber

from handlers import contract
from handlers.runtime import Settings, data_client
from local_api.dynalite import Dynalite
from tests.service.clients import KeepAliveClient, run_threads
from tests.service.support import (
    FORWARD,
    Decision,
    FaultProxy,
    Incoming,
    Service,
    start_service,
    throttling_reply,
)

pytestmark = pytest.mark.slow


class Outcome:
    """What one registration attempt got, and in which phase of the test."""

    def __init__(self, phase: str, status: int, headers: dict[str, str], body: bytes) -> None:
        self.phase = phase
        self.status = status
        self.headers = headers
        self.body: dict[str, Any] = json.loads(body)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_stopping_dynalite_mid_run_gives_503s_and_the_api_recovers(tmp_path: Path) -> None:
    database = Dynalite(tmp_path / "data").start()
    service = start_service(database.endpoint_url, health_cache_seconds=0.2)
    phase = ["up"]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    done = threading.Event()

    def writer(_index: int) -> None:
        http = KeepAliveClient(service.url)
        try:
            while not done.is_set():
                current = phase[0]
                status, headers, body = http.request("POST", "/EpochRegisterTime")
                with lock:
                    outcomes.append(Outcome(current, status, headers, body))
        finally:
            http.close()

    def count(wanted_phase: str, status: int) -> int:
        with lock:
            return sum(1 for o in outcomes if o.phase == wanted_phase and o.status == status)

    def past_the_health_cache(answered_at: float) -> None:
        time.sleep(max(0.0, answered_at + 0.3 - time.monotonic()))

    writers = threading.Thread(target=run_threads, args=(4, writer))
    writers.start()
    try:
        wait_until(lambda: count("up", 201) >= 20, 10, "registrations before the outage")
        assert service.get("/health").status_code == 200
        health_answered = time.monotonic()

        database.stop()
        phase[0] = "down"
        # The list goes through the SDK's retries and backoff (seconds) like the writes:
        # it runs alongside them instead of after them.
        with ThreadPoolExecutor(max_workers=1) as lister:
            listing = lister.submit(requests.get, f"{service.url}/getEpoch", timeout=30)
            past_the_health_cache(health_answered)
            health_down = service.get("/health")
            health_answered = time.monotonic()
            wait_until(lambda: count("down", 503) >= 4, 15, "503s during the outage")
            list_down = listing.result()

        database.start()  # same port, same data folder
        phase[0] = "restarted"
        wait_until(lambda: count("restarted", 201) >= 20, 15, "registrations after the restart")
        done.set()  # writers still in the SDK's backoff finish while the health cache expires
        past_the_health_cache(health_answered)
        health_up = service.get("/health")
    finally:
        done.set()
        writers.join()

    try:
        stored = set(service.stored_ids())
    finally:
        service.stop()
        database.stop()

    statuses = Counter((o.phase, o.status) for o in outcomes)
    assert {status for _, status in statuses} <= {201, 503}, statuses  # never a 500
    unavailable = [o for o in outcomes if o.status == 503]
    assert all(int(o.headers["Retry-After"]) >= 1 for o in unavailable)
    assert all(o.body["error"]["code"] == "unavailable" for o in unavailable)

    acknowledged = {o.body["id"] for o in outcomes if o.status == 201}
    assert acknowledged <= stored, "a 201 without a stored item (or data lost on restart)"

    assert (health_down.status_code, health_down.json()["status"]) == (503, "unhealthy")
    assert health_down.headers["Retry-After"]
    assert list_down.status_code == 503
    assert list_down.json()["error"]["code"] == "unavailable"
    assert health_up.status_code == 200


def test_throttling_is_a_503_with_retry_after_and_no_write(dynalite: Dynalite) -> None:
    # botocore's Stubber answers before the HTTP layer (and its retries): this checks
    # the mapping; the next test checks the bounded retries on the wire.
    client = data_client(
        Settings(table_name="-", region="eu-central-1", endpoint_url=dynalite.endpoint_url)
    )
    stubber = Stubber(client)
    for operation in ("put_item", "query"):
        stubber.add_client_error(
            operation,
            service_error_code="ProvisionedThroughputExceededException",
            service_message="Rate of requests exceeds the allowed throughput.",
            http_status_code=400,
        )
    service = start_service(dynalite.endpoint_url, data=client)
    try:
        with stubber:
            registered = service.post()
            listed = service.get("/getEpoch")
        stubber.assert_no_pending_responses()
        stored = service.stored_ids()
    finally:
        service.stop()
    for response in (registered, listed):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(contract.RETRY_AFTER_THROTTLED_SECONDS)
        assert response.json()["error"]["code"] == "throttled"
    assert stored == []


def test_throttling_retries_are_bounded_then_503(dynalite: Dynalite) -> None:
    throttling = [True]

    def throttle_writes(request: Incoming) -> Decision:
        if throttling[0] and request.dynamodb_operation == "PutItem":
            return throttling_reply()
        return FORWARD

    proxy = FaultProxy(dynalite.endpoint_url, throttle_writes)
    service: Service = start_service(proxy.url, admin_endpoint_url=dynalite.endpoint_url)
    try:
        started = time.monotonic()
        throttled = service.post()
        elapsed = time.monotonic() - started
        attempts = proxy.operations()["PutItem"]
        counted = service.data_requests.take()

        throttling[0] = False
        recovered = service.post()
        stored = service.stored_ids()
    finally:
        service.stop()
        proxy.stop()

    assert throttled.status_code == 503
    assert throttled.json()["error"]["code"] == "throttled"
    assert throttled.headers["Retry-After"] == str(contract.RETRY_AFTER_THROTTLED_SECONDS)
    assert attempts == contract.SDK_MAX_ATTEMPTS
    assert counted == {"PutItem": contract.SDK_MAX_ATTEMPTS}
    assert elapsed < contract.SDK_WORST_CASE_SECONDS
    assert recovered.status_code == 201
    assert stored == [recovered.json()["id"]]
