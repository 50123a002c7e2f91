"""Service test set-up: one dynalite for the session (over HTTP, no in-process mocks),
one local API server for the session, and per test a fresh table with the real
handlers built for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_api.dynalite import Dynalite
from tests.service.support import Backend, Service


@pytest.fixture(scope="session")
def backend(dynalite: Dynalite) -> Iterator[Backend]:
    running = Backend.start(dynalite.endpoint_url)
    yield running
    running.stop()


@pytest.fixture
def service(backend: Backend) -> Iterator[Service]:
    serving = backend.serve()
    yield serving
    serving.stop()


@pytest.fixture(params=[1, 4], ids=["1-shard", "4-shards"])
def any_shards_service(backend: Backend, request: pytest.FixtureRequest) -> Iterator[Service]:
    """The service with the list index unsharded (default) and spread over 4 shards."""
    serving = backend.serve(list_shards=request.param)
    yield serving
    serving.stop()
