"""No loss under load: concurrent clients through the local server, then count the table."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import uuid
from collections import Counter

import pytest

from handlers import contract
from handlers.routes import item_id_for_key
from tests.conftest import PROJECT_ROOT
from tests.service.support import (
    DROP_RESPONSE,
    FORWARD,
    FaultProxy,
    Incoming,
    KeepAliveClient,
    Service,
    run_threads,
)

pytestmark = pytest.mark.slow

CLIENTS = 32
# Every client keeps a request in flight for the whole run (about 60 each), so the
# server's threads, the shared connection pool and dynalite see 32 concurrent
# writers throughout; each registration is checked on its own. Throughput at
# 5,000 is benchmarks/bench_local_load.py's figure, not this test's.
REGISTRATIONS = 2_000


def test_every_acknowledged_registration_is_stored_and_nothing_else(service: Service) -> None:
    # The clients run in a process of their own, as real clients do (tests/service/clients.py).
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.service.clients",
            service.url,
            str(REGISTRATIONS),
            str(CLIENTS),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(run.stdout)
    acknowledged: list[str] = outcome["acknowledged"]
    other_statuses = Counter({int(status): n for status, n in outcome["other_statuses"].items()})

    stored = service.stored_ids()
    assert other_statuses == Counter()
    assert len(acknowledged) == REGISTRATIONS
    assert len(set(acknowledged)) == REGISTRATIONS
    assert len(stored) == len(set(stored))
    assert set(stored) == set(acknowledged), "missing or extra items"


def test_lost_acknowledgements_and_client_retries_never_duplicate(service: Service) -> None:
    keys = [str(uuid.uuid4()) for _ in range(300)]
    lock = threading.Lock()
    dropped: set[str] = set()

    def lose_the_first_answer(request: Incoming) -> str:
        # The handler runs and stores the item; the client never gets the 201.
        key = request.headers.get(contract.IDEMPOTENCY_HEADER, "")
        with lock:
            if key in dropped:
                return FORWARD
            dropped.add(key)
            return DROP_RESPONSE

    proxy = FaultProxy(service.url, lose_the_first_answer)
    queue = list(keys)
    results: dict[str, tuple[int, dict[str, object]]] = {}
    retries: Counter[str] = Counter()

    def client(_index: int) -> None:
        http = KeepAliveClient(proxy.url)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    key = queue.pop()
                for _attempt in range(5):
                    try:
                        status, _, body = http.request(
                            "POST", "/EpochRegisterTime", {contract.IDEMPOTENCY_HEADER: key}
                        )
                    except (OSError, http_errors):
                        with lock:
                            retries[key] += 1
                        continue
                    with lock:
                        results[key] = (status, json.loads(body))
                    break
        finally:
            http.close()

    try:
        run_threads(CLIENTS, client)
    finally:
        proxy.stop()

    assert set(retries) == set(keys), "every key should have had one lost answer and a retry"
    assert all(count == 1 for count in retries.values())
    assert set(results) == set(keys)
    # The retry finds the item the lost request stored: 200 with that registration.
    assert Counter(status for status, _ in results.values()) == Counter({200: len(keys)})
    assert all(body["id"] == item_id_for_key(key) for key, (_, body) in results.items())
    stored = service.stored_ids()
    assert sorted(stored) == sorted(item_id_for_key(key) for key in keys)


http_errors = http.client.HTTPException
