"""GET /health: a real read of the table, cached per container, forced 503 for drills."""

from __future__ import annotations

import socket
import time

from handlers import contract
from local_api.dynalite import Dynalite, free_port
from tests.service.support import REGION, Backend, Service, new_table, start_service


def test_health_is_ok_when_the_table_answers(service: Service) -> None:
    response = service.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "region": REGION}
    assert service.health_requests.take() == {"GetItem": 1}


def test_health_results_are_cached_per_container(backend: Backend) -> None:
    service = backend.serve(health_cache_seconds=0.5)
    try:
        statuses = [service.get("/health").status_code for _ in range(20)]
        within_ttl = service.health_requests.take()
        time.sleep(0.6)
        service.get("/health")
        after_ttl = service.health_requests.take()
    finally:
        service.stop()
    assert statuses == [200] * 20
    assert within_ttl == {"GetItem": 1}
    assert after_ttl == {"GetItem": 1}


def test_forced_unhealthy_answers_503_without_reading(backend: Backend) -> None:
    service = backend.serve(force_unhealthy=True)
    try:
        response = service.get("/health")
        requests_made = service.health_requests.take()
        # Only /health is forced: the API itself still works (the drill drains traffic).
        assert service.post().status_code == 201
    finally:
        service.stop()
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["region"] == REGION
    assert body["error"]["code"] == "unhealthy"
    assert "forced" in body["error"]["message"]
    assert requests_made == {}


def test_a_missing_table_is_unhealthy(backend: Backend) -> None:
    service = backend.serve(table_name="epochs-never-created")
    try:
        response = service.get("/health")
    finally:
        service.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unhealthy"


def test_an_unreachable_endpoint_is_unhealthy_well_within_two_seconds(dynalite: Dynalite) -> None:
    table = new_table(dynalite.endpoint_url)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    service = start_service(dead, table_name=table, admin_endpoint_url=dynalite.endpoint_url)
    try:
        started = time.monotonic()
        response = service.get("/health")
        elapsed = time.monotonic() - started
    finally:
        service.stop()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert elapsed < 1.0


def test_a_silent_endpoint_times_out_well_within_two_seconds(dynalite: Dynalite) -> None:
    table = new_table(dynalite.endpoint_url)
    # Accepts TCP connections (kernel backlog) and never answers: a hung database.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        service = start_service(
            endpoint, table_name=table, admin_endpoint_url=dynalite.endpoint_url
        )
        try:
            started = time.monotonic()
            response = service.get("/health")
            elapsed = time.monotonic() - started
        finally:
            service.stop()
    assert response.status_code == 503
    assert (
        contract.HEALTH_READ_TIMEOUT_SECONDS <= elapsed < contract.HEALTH_WORST_CASE_SECONDS + 0.5
    )
    assert elapsed < 2.0
