"""Canary rollout mode: Terraform leaves the alias to `pipenv run rollout`, and the
stack outputs what the rollout needs per region; the default mode is unchanged."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction

from epoch_constructs.providers import region_id
from handlers import contract
from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, reference, region_of, resources

IGNORED = ["function_version", "routing_config", "description"]


def outputs(app: Synthesized) -> dict[str, Any]:
    found: dict[str, Any] = app.stack(ROOT).get("output", {})
    return found


def test_default_mode_lets_terraform_move_the_alias(default_app: Synthesized) -> None:
    for alias in resources(default_app, LambdaAlias.TF_RESOURCE_TYPE).values():
        assert "lifecycle" not in alias
    assert not [name for name in outputs(default_app) if "rollout" in name]


def test_canary_mode_leaves_the_alias_to_the_rollout(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    app = synthesized_apps["canary"]
    aliases = resources(app, LambdaAlias.TF_RESOURCE_TYPE)
    assert len(aliases) == len(contract.FUNCTION_HANDLERS) * len(app.settings.regions)
    for alias in aliases.values():
        assert alias["lifecycle"] == {"ignore_changes": IGNORED}
        # Created on the newest version: the first deploy serves at once.
        assert alias["function_version"].endswith(".version}")


def test_canary_outputs_give_each_region_what_the_rollout_moves_and_watches(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    app = synthesized_apps["canary"]
    found = outputs(app)
    settings = found["rollout_settings"]["value"]
    assert settings == {
        "mode": "canary",
        "region_order": ["us-west-2", "eu-west-1", "us-east-1"],
        "shares": [5, 53, 100],
        "bake_seconds": 900,
        "gate_alarms": ["api-5xx-rate", "function-errors", "replication-latency"],
    }
    functions = resources(app, LambdaFunction.TF_RESOURCE_TYPE)
    alarm_names = {
        alarm["alarm_name"]: region_of(alarm)
        for alarm in resources(app, CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    }
    for region in app.settings.regions:
        value = found[f"{region_id(region)}_rollout"]["value"]
        assert value["region"] == region
        assert value["alias"] == "live"
        assert value["endpoint"] == found[f"{region_id(region)}_endpoint"]["value"]
        assert set(value["functions"]) == set(contract.FUNCTION_HANDLERS)
        for logical, function in value["functions"].items():
            (address,) = [
                name
                for name, fn in functions.items()
                if fn["function_name"] == function["name"] and region_of(fn) == region
            ]
            assert function["version"] == reference(
                LambdaFunction.TF_RESOURCE_TYPE, address, "version"
            ), logical
        # Only the gating kinds, each naming an alarm that exists in this region.
        assert all(alarm_names[name] == region for name in value["alarms"])
        assert not any(n.endswith(("-throttles", "-p99-latency")) for n in value["alarms"])
        # The 5xx rate, one per function, one per other region.
        others = len(app.settings.regions) - 1
        assert len(value["alarms"]) == 1 + len(contract.FUNCTION_HANDLERS) + others
