"""handlers.runtime and the Lambda entry modules: settings, SDK limits, module-scope set-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from handlers import contract
from handlers.runtime import Settings, data_client, health_client
from local_api.dynalite import PROJECT_ROOT, Dynalite
from tests.service.support import new_table


def test_settings_come_from_the_infrastructure_variables() -> None:
    settings = Settings.from_env(
        {
            contract.ENV_TABLE_NAME: "epochs",
            contract.ENV_FORCE_UNHEALTHY: "TRUE",
            contract.ENV_REGION: "us-west-2",
        }
    )
    assert settings == Settings(table_name="epochs", region="us-west-2", force_unhealthy=True)


@pytest.mark.parametrize(("value", "forced"), [("true", True), ("false", False), ("", False)])
def test_force_unhealthy_values(value: str, forced: bool) -> None:
    env = {contract.ENV_TABLE_NAME: "t", contract.ENV_FORCE_UNHEALTHY: value}
    assert Settings.from_env(env).force_unhealthy is forced


def test_a_misspelt_force_flag_fails_at_start_up() -> None:
    with pytest.raises(RuntimeError, match=contract.ENV_FORCE_UNHEALTHY):
        Settings.from_env({contract.ENV_TABLE_NAME: "t", contract.ENV_FORCE_UNHEALTHY: "ture"})


def test_a_missing_table_name_fails_at_start_up() -> None:
    with pytest.raises(RuntimeError, match=contract.ENV_TABLE_NAME):
        Settings.from_env({})


def test_list_shards_come_from_the_environment_and_default_to_one() -> None:
    assert Settings.from_env({contract.ENV_TABLE_NAME: "t"}).list_shards == 1
    env = {contract.ENV_TABLE_NAME: "t", contract.ENV_LIST_SHARDS: "4"}
    assert Settings.from_env(env).list_shards == 4


@pytest.mark.parametrize("value", ["0", "17", "four", "-1", "2.5"])
def test_a_bad_shard_count_fails_at_start_up(value: str) -> None:
    with pytest.raises(RuntimeError, match=contract.ENV_LIST_SHARDS):
        Settings.from_env({contract.ENV_TABLE_NAME: "t", contract.ENV_LIST_SHARDS: value})


def test_sdk_worst_case_fits_inside_the_lambda_and_gateway_timeouts() -> None:
    assert contract.SDK_WORST_CASE_SECONDS == 7.5
    assert contract.SDK_WORST_CASE_SECONDS < contract.LAMBDA_TIMEOUT_MIN_SECONDS
    assert contract.LAMBDA_TIMEOUT_MIN_SECONDS < contract.API_GATEWAY_TIMEOUT_SECONDS
    assert contract.HEALTH_WORST_CASE_SECONDS < 1.0  # Route 53 waits 2 s for an answer


def test_clients_carry_the_contract_timeouts_and_retries() -> None:
    settings = Settings(table_name="t", region="us-west-2")
    data = data_client(settings).meta.config
    health = health_client(settings).meta.config
    assert (data.connect_timeout, data.read_timeout) == (
        contract.SDK_CONNECT_TIMEOUT_SECONDS,
        contract.SDK_READ_TIMEOUT_SECONDS,
    )
    assert data.retries == {"total_max_attempts": contract.SDK_MAX_ATTEMPTS, "mode": "standard"}
    assert (health.connect_timeout, health.read_timeout) == (
        contract.HEALTH_CONNECT_TIMEOUT_SECONDS,
        contract.HEALTH_READ_TIMEOUT_SECONDS,
    )
    assert health.retries == {
        "total_max_attempts": contract.HEALTH_MAX_ATTEMPTS,
        "mode": "standard",
    }
    assert data.max_pool_connections == contract.SDK_MAX_POOL_CONNECTIONS


INVOKE = textwrap.dedent(
    """
    import importlib, json, sys
    module_path, _, function = sys.argv[1].rpartition(".")
    handler = getattr(importlib.import_module(module_path), function)
    event = json.loads(sys.argv[2])
    result = handler(event, None)
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize(
    ("function", "method", "path", "status"),
    [
        ("register", "POST", "/EpochRegisterTime", 201),
        ("read", "GET", "/getEpoch", 200),
        ("health", "GET", "/health", 200),
    ],
)
def test_entry_modules_configure_themselves_from_the_environment(
    dynalite: Dynalite, function: str, method: str, path: str, status: int
) -> None:
    """What the Lambda runtime does: import contract.FUNCTION_HANDLERS[...] in a fresh
    interpreter with the infrastructure's variables set, then call it with an event."""
    table = new_table(dynalite.endpoint_url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        contract.ENV_TABLE_NAME: table,
        contract.ENV_FORCE_UNHEALTHY: "false",
        contract.ENV_REGION: "sa-east-1",
        contract.ENV_DYNAMODB_ENDPOINT: dynalite.endpoint_url,
    }
    event = {"httpMethod": method, "path": path, "requestContext": {"requestId": "r-1"}}
    result = subprocess.run(
        [sys.executable, "-c", INVOKE, contract.FUNCTION_HANDLERS[function], json.dumps(event)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.splitlines()[-1])
    assert response["statusCode"] == status
    assert json.loads(response["body"])["region"] == "sa-east-1"
