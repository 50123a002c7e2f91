"""verify's test set-up: one dynalite for the session, and local-mode API servers
(the real handlers behind local_api's HTTP server) started as "regions".

Two regions over ONE dynalite table stand in for a DynamoDB global table with
zero replication lag: whatever one region writes, the other reads at once. Real
replication lag, and its figures, exist only on AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from handlers.runtime import Settings, data_client, health_client, make_handlers
from local_api.dynalite import Dynalite
from local_api.server import LocalApi
from tests.service.support import STOP_POLL_SECONDS, new_table

EAST, WEST = "us-east-1", "us-west-2"


RegionFactory = Callable[..., LocalApi]


@pytest.fixture
def table(dynalite: Dynalite) -> str:
    return new_table(dynalite.endpoint_url)


@pytest.fixture
def serve_region(dynalite: Dynalite) -> Iterator[RegionFactory]:
    """Start a local-mode API server answering as `region` over `table`."""
    started: list[LocalApi] = []

    def serve(region: str, table: str, *, force_unhealthy: bool = False) -> LocalApi:
        settings = Settings(
            table_name=table,
            region=region,
            endpoint_url=dynalite.endpoint_url,
            force_unhealthy=force_unhealthy,
        )
        data, health = data_client(settings), health_client(settings)
        api = LocalApi(
            make_handlers(settings, data, health),
            port=0,
            poll_interval=STOP_POLL_SECONDS,
        ).start()
        started.append(api)
        return api

    yield serve
    for api in started:
        api.stop()


@pytest.fixture
def two_regions(serve_region: RegionFactory, table: str) -> dict[str, LocalApi]:
    """us-east-1 and us-west-2 over one table (zero-lag stand-in for the global table)."""
    return {EAST: serve_region(EAST, table), WEST: serve_region(WEST, table)}
