"""handlers/openapi.json: valid, in sync with the contract, and the running API conforms
to it (schemathesis, positive and negative data, against the local server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from handlers import api, contract
from local_api.dynalite import Dynalite
from local_api.server import OPENAPI_PATH
from tests.service.support import Service, start_service

pytestmark = pytest.mark.slow
DOCUMENT: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def test_the_document_is_valid_openapi_3_0() -> None:
    assert DOCUMENT["openapi"].startswith("3.0.")
    # The OpenAPI 3.0 meta-schema schemathesis ships (the infra imports this file).
    assert OPENAPI_30_VALIDATOR.is_valid(DOCUMENT)


def test_the_document_is_plain_openapi_without_gateway_extensions() -> None:
    assert "x-amazon-apigateway" not in OPENAPI_PATH.read_text()


def test_every_route_has_exactly_one_operation_with_its_operation_id() -> None:
    operations = {
        (method.upper(), path): operation["operationId"]
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert operations == {(r.method, r.path): r.operation_id for r in contract.ROUTES}


def test_documented_limits_match_the_contract() -> None:
    list_parameters = {
        p["name"]: p["schema"] for p in DOCUMENT["paths"]["/getEpoch"]["get"]["parameters"]
    }
    assert list_parameters["limit"]["maximum"] == contract.LIST_LIMIT_MAX
    assert list_parameters["limit"]["default"] == contract.LIST_LIMIT_DEFAULT
    assert list_parameters["cursor"]["maxLength"] == contract.CURSOR_MAX_LENGTH
    key = DOCUMENT["components"]["parameters"]["IdempotencyKey"]
    assert key["name"] == contract.IDEMPOTENCY_HEADER
    assert key["schema"]["minLength"] == contract.IDEMPOTENCY_KEY_MIN_LENGTH
    assert key["schema"]["maxLength"] == contract.IDEMPOTENCY_KEY_MAX_LENGTH
    assert key["schema"]["pattern"] == f"^[{contract.IDEMPOTENCY_KEY_CHARSET}]+$"
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["RegistrationId"]["pattern"] == contract.ITEM_ID_PATTERN
    assert str(contract.MAX_BODY_BYTES) in str(
        DOCUMENT["paths"]["/EpochRegisterTime"]["post"]["responses"]["413"]
    )


def test_documented_error_codes_are_the_contract_codes() -> None:
    detail = DOCUMENT["components"]["schemas"]["ErrorDetail"]
    assert detail["properties"]["code"]["enum"] == list(contract.ERROR_CODES)


def test_the_handlers_use_the_contract_codes() -> None:
    used = {
        value
        for name, value in vars(api).items()
        if name.isupper() and value in contract.ERROR_CODES
    }
    assert used == set(contract.HANDLER_ERROR_CODES)


def test_every_503_documents_retry_after() -> None:
    for item in DOCUMENT["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS and "503" in operation["responses"]:
                assert "Retry-After" in operation["responses"]["503"]["headers"]


@pytest.fixture(scope="module")
def contract_service(dynalite: Dynalite) -> Iterator[Service]:
    running = start_service(dynalite.endpoint_url)
    yield running
    running.stop()


@pytest.fixture
def api_schema(contract_service: Service) -> Any:
    # schemathesis's default rejections plus 413: an invalid body can also be too
    # large, and 413 is this API's documented answer to that.
    rejections = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]
    rejections += ["428", "429", "5xx"]
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all"},
            "checks": {"negative_data_rejection": {"expected-statuses": rejections}},
        }
    )
    return schemathesis.openapi.from_url(f"{contract_service.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_document(case: Any) -> None:
    excluded = []
    if case.query and "cursor" in case.query:
        # A cursor is opaque: schema-valid strings are still not cursors this API
        # issued, and 400 is the documented answer. Everything else must be accepted.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)
