"""The secured API against its document: the document local mode serves with
`api.auth` on is valid OpenAPI 3.0, and schemathesis (library and CLI, with the
shipped configuration and the credentials as a header) finds no issue."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from handlers import auth
from local_api.auth import LocalGate
from local_api.dynalite import Dynalite
from local_api.server import OPENAPI_PATH
from tests.conftest import PROJECT_ROOT
from tests.service.support import Service, start_service

pytestmark = pytest.mark.slow
SCHEMATHESIS_CONFIG = PROJECT_ROOT / "schemathesis.toml"
KEY = "contract-test-key-0123456789"


@pytest.fixture(scope="module")
def secured_service(dynalite: Dynalite) -> Iterator[Service]:
    running = start_service(dynalite.endpoint_url, auth_mode=auth.AUTH_API_KEY)
    running.api.set_gate(LocalGate(auth.AUTH_API_KEY, api_keys={"contract/1": KEY}))
    yield running
    running.stop()


@pytest.mark.parametrize("mode", [auth.AUTH_JWT, auth.AUTH_API_KEY])
def test_the_secured_documents_are_valid_openapi_3_0(mode: str) -> None:

    document = auth.secured_document(json.loads(OPENAPI_PATH.read_text()), mode)
    assert OPENAPI_30_VALIDATOR.is_valid(document)


@pytest.fixture
def secured_schema(secured_service: Service) -> Any:
    # The shipped configuration plus the key for the document's security scheme, so
    # that schemathesis knows the credentials (a request without them is its own case).
    text = SCHEMATHESIS_CONFIG.read_text(encoding="utf-8")
    scheme = auth.SECURITY_SCHEME[auth.AUTH_API_KEY]
    config = schemathesis.Config.from_str(f'{text}\n[auth.openapi.{scheme}]\napi_key = "{KEY}"\n')
    return schemathesis.openapi.from_url(f"{secured_service.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("secured_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_secured_api_conforms_to_its_document(case: Any) -> None:
    case.call_and_validate()


def test_the_schemathesis_cli_passes_with_the_key_as_a_header(secured_service: Service) -> None:
    # As docs/local-mode.md shows it: the shipped configuration, the key from the environment.
    url = f"{secured_service.url}/openapi.json"
    assert requests.post(f"{secured_service.url}/EpochRegisterTime", timeout=10).status_code == 401
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            url,
            "-n",
            "5",
            "--seed",
            "1",
            "-H",
            f"{auth.API_KEY_HEADER}: {KEY}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Its `ignored_auth` check also sends each secured operation without the key: an
    # API that let those through fails here (seen: "ST401 API accepts requests
    # without authentication" with local mode's gate switched off).
    assert run.returncode == 0, run.stdout[-3000:]
    assert "No issues found" in run.stdout
    # The writes went through with the key: registrations exist.
    assert secured_service.stored_ids()
