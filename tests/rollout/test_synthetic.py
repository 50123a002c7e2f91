"""The rollout's synthetic check (verify's checks for one region) against local mode:
the real handlers over dynalite, as the "regions" verify's own tests use."""

from __future__ import annotations

from handlers import contract
from handlers.routes import item_id_for_key
from local_api.dynalite import Dynalite
from rollout.synthetic import check_region
from tests.service.support import shared_admin_client
from tests.verify.conftest import EAST, WEST, RegionFactory


def stored_ids(dynalite: Dynalite, table: str) -> set[str]:
    admin = shared_admin_client(dynalite.endpoint_url)
    items = admin.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item[contract.HASH_KEY]["S"] for item in items}


def test_a_healthy_region_passes_and_stores_one_verify_registration(
    dynalite: Dynalite, serve_region: RegionFactory, table: str
) -> None:
    api = serve_region(EAST, table)
    assert check_region(EAST, api.url) is None
    assert check_region(EAST, api.url) is None  # every bake repeats the same key
    assert stored_ids(dynalite, table) == {item_id_for_key(f"verify-rollout-{EAST}-idem")}


def test_an_unhealthy_region_fails_with_the_check_and_its_answer(
    serve_region: RegionFactory, table: str
) -> None:
    api = serve_region(WEST, table, force_unhealthy=True)
    problem = check_region(WEST, api.url)
    assert problem is not None
    assert problem.startswith("synthetic check failed: health: answered 503")


def test_an_endpoint_answering_as_another_region_fails(
    serve_region: RegionFactory, table: str
) -> None:
    api = serve_region(EAST, table)
    problem = check_region(WEST, api.url)
    assert problem == f"synthetic check failed: health: answers as region '{EAST}'"


def test_an_unreachable_region_fails(serve_region: RegionFactory, table: str) -> None:
    api = serve_region(EAST, table)
    url = api.url
    api.stop()
    problem = check_region(EAST, url)
    assert problem is not None
    assert problem.startswith("synthetic check failed: health: ")
