"""handlers/openapi.json: valid, in sync with the contract, and the running API conforms
to it (schemathesis, positive and negative data, against the local server)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from handlers import api, contract
from handlers.routes import encode_cursor
from local_api.dynalite import Dynalite
from local_api.server import OPENAPI_PATH
from tests.conftest import PROJECT_ROOT
from tests.service.support import Service, start_service

pytestmark = pytest.mark.slow
DOCUMENT: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
SCHEMATHESIS_CONFIG = PROJECT_ROOT / "schemathesis.toml"
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
    cursor = list_parameters["cursor"]
    assert cursor["minLength"] == cursor["maxLength"] == contract.CURSOR_LENGTH
    rest = contract.CURSOR_LENGTH - len(contract.CURSOR_PREFIX)
    assert cursor["pattern"] == f"^{contract.CURSOR_PREFIX}[A-Za-z0-9_-]{{{rest}}}$"
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


@pytest.mark.parametrize("epoch_ms", [0, 1_795_845_009_338, 10**15 - 1])
@pytest.mark.parametrize("item_id", ["0" * 32, "f" * 32, "171f64c440d25459a318848240b120c1"])
def test_issued_cursors_fit_the_documented_pattern(epoch_ms: int, item_id: str) -> None:
    parameters = DOCUMENT["paths"]["/getEpoch"]["get"]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == "cursor")
    cursor = encode_cursor(
        {
            contract.HASH_KEY: item_id,
            contract.LIST_INDEX_RANGE_KEY: contract.list_sort_key(epoch_ms, item_id),
        }
    )
    assert re.fullmatch(schema["pattern"], cursor)
    assert len(cursor) == schema["minLength"] == schema["maxLength"]


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
    # The file docs/local-mode.md tells an outside user to run the schemathesis CLI with.
    config = schemathesis.Config.from_path(SCHEMATHESIS_CONFIG)
    return schemathesis.openapi.from_url(f"{contract_service.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_document(case: Any) -> None:
    case.call_and_validate()


def _schemathesis_cli(url: str, cwd: Any, *extra: str) -> subprocess.Popen[str]:
    # A plain CLI run as docs/local-mode.md shows it, with a bounded number of examples.
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            url,
            "-n",
            "5",
            "--seed",
            "1",
            *extra,
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        stdout, _ = run.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        run.kill()
        stdout, _ = run.communicate()
        pytest.fail(f"the schemathesis CLI did not finish in 300 s:\n{stdout[-3000:]}")
    return run.returncode, stdout


def test_the_schemathesis_cli_passes_with_the_shipped_configuration(
    contract_service: Service, tmp_path: Path
) -> None:
    url = f"{contract_service.url}/openapi.json"
    # Without the file the same run flags the documented invalid-cursor answer:
    # the configuration is what makes the difference, not luck. That is the bare
    # run's only finding, so it stops there; both runs go at once.
    (tmp_path / ".git").mkdir()  # stops schemathesis looking for a file further up
    bare_run = _schemathesis_cli(url, tmp_path, "--max-failures", "1")
    shipped_run = _schemathesis_cli(url, PROJECT_ROOT)
    shipped_code, shipped = _finish(shipped_run)
    bare_code, bare = _finish(bare_run)
    assert shipped_code == 0, shipped[-3000:]
    assert "No issues found" in shipped
    assert bare_code == 1, bare[-3000:]
    assert "Schema-valid request rejected" in bare
    assert re.search(r"_ GET /getEpoch _", bare), "the finding is the list operation's"
