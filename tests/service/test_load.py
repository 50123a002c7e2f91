"""No loss under load: concurrent clients through the local server, then count the table."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections import Counter
from typing import Any

import pytest

from handlers import contract
from handlers.routes import item_id_for_key
from tests.conftest import PROJECT_ROOT
from tests.service.support import DROP_RESPONSE, FORWARD, FaultProxy, Incoming, Service

pytestmark = pytest.mark.slow

CLIENTS = 32
# Every client keeps a request in flight for the whole run (about 60 each), so the
# server's threads, the shared connection pool and dynalite see 32 concurrent
# writers throughout; each registration is checked on its own. Throughput at
# 5,000 is benchmarks/bench_local_load.py's figure, not this test's.
REGISTRATIONS = 2_000


def clients(*args: str, keys: list[str] | None = None) -> dict[str, Any]:
    """Run the load clients in a process of their own, as real clients are
    (tests/service/clients.py); their JSON outcome."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.service.clients", *args],
        input="\n".join(keys or []),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(run.stdout)
    return outcome


def test_every_acknowledged_registration_is_stored_and_nothing_else(service: Service) -> None:
    outcome = clients("register", service.url, str(REGISTRATIONS), str(CLIENTS))
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
    try:
        outcome = clients("retry", proxy.url, str(CLIENTS), keys=keys)
    finally:
        proxy.stop()
    results: dict[str, tuple[int, dict[str, Any]]] = {
        key: (status, body) for key, (status, body) in outcome["results"].items()
    }
    retries = Counter(outcome["retries"])

    assert set(retries) == set(keys), "every key should have had one lost answer and a retry"
    assert all(count == 1 for count in retries.values())
    assert set(results) == set(keys)
    # The retry finds the item the lost request stored: 200 with that registration.
    assert Counter(status for status, _ in results.values()) == Counter({200: len(keys)})
    assert all(body["id"] == item_id_for_key(key) for key, (_, body) in results.items())
    stored = service.stored_ids()
    assert sorted(stored) == sorted(item_id_for_key(key) for key in keys)
