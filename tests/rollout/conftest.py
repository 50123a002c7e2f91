"""The rollout's test set-up: the AWS emulator (moto as a server on loopback, behind the
rehearsal's shims) holding two regions' functions, aliases and alarms, and local-mode API
servers (the real handlers over dynalite) as each region's endpoint for the synthetic check.

The functions, aliases and alarms are made with boto3 calls, as Terraform would make
them (the rehearsal makes them with Terraform itself); each test gets its own app name,
so tests share one emulator without seeing each other's functions.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers import contract
from local_api.server import LocalApi
from rehearsal.emulator import Emulator, EmulatorError
from tests.verify.conftest import EAST, WEST, RegionFactory, serve_region, table

__all__ = ["EAST", "WEST", "serve_region", "table"]

REGIONS = (EAST, WEST)
FUNCTIONS = tuple(sorted(contract.FUNCTION_HANDLERS))
ALIAS = "live"
_apps = itertools.count(1)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    log = tmp_path_factory.mktemp("rollout-emulator") / "emulator.log"
    server = Emulator(zones={}, log=log)
    try:
        server.start()
    except EmulatorError as exc:
        pytest.fail(f"cannot start the AWS emulator for the rollout tests: {exc}")
    yield server
    server.stop()


@pytest.fixture
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """boto3 (in this process and in subprocesses) talks to the emulator with fake keys."""
    env = {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers/code.py", text)
    return buffer.getvalue()


@dataclass
class Deployment:
    """Two regions with version 1 live and version 2 published, as after a canary apply."""

    app: str
    outputs_file: Path
    endpoints: dict[str, LocalApi]

    def function(self, logical: str) -> str:
        return f"{self.app}-{logical}"

    def alarm(self, region: str, kind: str = "api-5xx-rate") -> str:
        return f"{self.app}-{region}-{kind}"

    def alias(self, region: str, logical: str = "register") -> dict[str, Any]:
        answer: dict[str, Any] = client("lambda", region).get_alias(
            FunctionName=self.function(logical), Name=ALIAS
        )
        return answer

    def serves(self, region: str) -> set[tuple[str, str]]:
        """(primary version, routing weights) of every function's alias in `region`."""
        found = set()
        for logical in FUNCTIONS:
            alias = self.alias(region, logical)
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            found.add((alias["FunctionVersion"], json.dumps(weights, sort_keys=True)))
        return found

    def set_alarm(self, region: str, state: str, kind: str = "api-5xx-rate") -> None:
        client("cloudwatch", region).set_alarm_state(
            AlarmName=self.alarm(region, kind), StateValue=state, StateReason="test"
        )

    def args(self, *extra: str, bake: str = "0.4") -> list[str]:
        endpoints = [f"--region-endpoint={r}={api.url}" for r, api in self.endpoints.items()]
        return [
            "--outputs-file",
            str(self.outputs_file),
            "--bake-seconds",
            bake,
            *endpoints,
            *extra,
        ]


def alarm_names(app: str, region: str) -> list[str]:
    return [f"{app}-{region}-api-5xx-rate"] + [f"{app}-{region}-{f}-errors" for f in FUNCTIONS]


def outputs_document(app: str, versions: dict[str, Any]) -> dict[str, Any]:
    """The root stack's rollout outputs as `terraform output -json` prints them."""
    outputs: dict[str, Any] = {
        "rollout_settings": {
            "value": {
                "mode": "canary",
                "region_order": list(REGIONS),
                "shares": [10, 100],
                "bake_seconds": 600,
                "gate_alarms": ["api-5xx-rate", "function-errors"],
            }
        }
    }
    for region in REGIONS:
        rid = region.replace("-", "_")
        # The region's own API endpoint: unreachable here, --region-endpoint wins.
        endpoint = f"https://{app}.execute-api.{region}.amazonaws.com/v1"
        outputs[f"{rid}_endpoint"] = {"value": endpoint}
        outputs[f"{rid}_rollout"] = {
            "value": {
                "region": region,
                "endpoint": endpoint,
                "alias": ALIAS,
                "functions": versions.get(
                    region, {"health": {"name": f"{app}-health", "version": "2"}}
                ),
                "alarms": alarm_names(app, region),
            }
        }
    return outputs


def deploy(tmp_path: Path, endpoints: dict[str, LocalApi]) -> Deployment:
    app = f"rollout-t{next(_apps)}-{os.getpid()}"
    iam = client("iam", EAST)
    role = iam.create_role(
        RoleName=f"{app}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    per_region: dict[str, dict[str, Any]] = {}
    for region in REGIONS:
        lam, cloudwatch = client("lambda", region), client("cloudwatch", region)
        versions = {}
        for logical in FUNCTIONS:
            name = f"{app}-{logical}"
            lam.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler=f"handlers.{logical}.handler",
                Code={"ZipFile": _zip("first = 1\n")},
                Publish=True,
            )
            lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion="1")
            lam.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier=ALIAS, ProvisionedConcurrentExecutions=2
            )
            published = lam.update_function_code(
                FunctionName=name, ZipFile=_zip("second = 2\n"), Publish=True
            )
            versions[logical] = {"name": name, "version": published["Version"]}
        for alarm in alarm_names(app, region):
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=5,
                DatapointsToAlarm=3,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
        per_region[region] = versions
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_document(app, per_region), indent=2))
    return Deployment(app=app, outputs_file=path, endpoints=endpoints)


@pytest.fixture
def deployment(
    aws_env: dict[str, str], serve_region: RegionFactory, table: str, tmp_path: Path
) -> Deployment:
    endpoints = {EAST: serve_region(EAST, table), WEST: serve_region(WEST, table)}
    return deploy(tmp_path, endpoints)
