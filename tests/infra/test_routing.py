"""Route 53: health checks on each region's own endpoint, and the three routing modes."""

from __future__ import annotations

import json
import re

from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.route53_traffic_policy import Route53TrafficPolicy
from cdktf_cdktf_provider_aws.route53_traffic_policy_instance import (
    Route53TrafficPolicyInstance,
)

from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, only, resources


def test_health_checks_probe_each_regions_own_endpoint(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        checks = resources(app, Route53HealthCheck.TF_RESOURCE_TYPE).values()
        hosts = sorted(check["fqdn"] for check in checks)
        assert len(hosts) == len(app.settings.regions)
        for region in app.settings.regions:
            (host,) = [h for h in hosts if h.endswith(f".execute-api.{region}.amazonaws.com")]
            assert app.settings.names.api_domain not in host
        for check in checks:
            assert check["type"] == "HTTPS"
            assert check["request_interval"] == 10
            assert check["resource_path"] == "/v1/health"
            assert check["failure_threshold"] == app.settings.routing.health_check_failure_threshold


def test_health_check_alarms_only_in_us_east_1(synthesized_apps: dict[str, Synthesized]) -> None:
    for app in synthesized_apps.values():
        alarms = [
            a
            for a in resources(app, CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
            if a.get("namespace") == "AWS/Route53"
        ]
        assert len(alarms) == len(app.settings.regions), app.name
        assert {a["provider"] for a in alarms} == {"aws.us_east_1"}, app.name


def test_traffic_policy_is_weighted_over_health_checked_regions(default_app: Synthesized) -> None:
    policy = only(default_app, Route53TrafficPolicy.TF_RESOURCE_TYPE)
    # The document is a local (a JSON template), so the name can hash it.
    match = re.fullmatch(r"\$\{local\.(\w+)\}", policy["document"])
    assert match, policy["document"]
    local_name = match[1]
    document = json.loads(default_app.stack(ROOT)["locals"][local_name])
    (rule,) = document["Rules"].values()
    assert rule["RuleType"] == "weighted"
    assert [item["EvaluateTargetHealth"] for item in rule["Items"]] == [True, True]
    assert all(
        re.fullmatch(r"\$\{aws_route53_health_check\.\w+\.id\}", item["HealthCheck"])
        for item in rule["Items"]
    )
    assert set(document["Endpoints"]) == set(default_app.settings.regions)
    # Versioned by content (provider #27767): a changed document is a new policy.
    assert f"sha1(local.{local_name})" in policy["name"]
    assert policy["lifecycle"] == {"create_before_destroy": True}
    instance = only(default_app, Route53TrafficPolicyInstance.TF_RESOURCE_TYPE)
    assert instance["name"] == default_app.settings.names.api_domain
    assert instance["traffic_policy_version"].endswith(".version}")
    assert not [
        r
        for n, r in resources(default_app, Route53Record.TF_RESOURCE_TYPE).items()
        if "validation" not in n
    ]


def api_records(app: Synthesized) -> list[dict[str, object]]:
    return [
        r
        for n, r in resources(app, Route53Record.TF_RESOURCE_TYPE).items()
        if "validation" not in n
    ]


def test_weighted_records_carry_weights_and_health_checks(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    app = synthesized_apps["weighted_records"]
    assert resources(app, Route53TrafficPolicy.TF_RESOURCE_TYPE) == {}
    records = {r["set_identifier"]: r for r in api_records(app)}
    assert set(records) == set(app.settings.regions)
    assert records["us-west-2"]["weighted_routing_policy"] == {"weight": 0}  # drained
    assert records["us-east-1"]["weighted_routing_policy"] == {"weight": 100}
    for record in records.values():
        assert record["alias"]["evaluate_target_health"] is True  # type: ignore[index]
        assert str(record["health_check_id"]).startswith("${aws_route53_health_check.")


def test_latency_records_route_by_region(synthesized_apps: dict[str, Synthesized]) -> None:
    app = synthesized_apps["latency_on_demand_eu"]
    records = {r["set_identifier"]: r for r in api_records(app)}
    assert set(records) == set(app.settings.regions)
    for region, record in records.items():
        assert record["latency_routing_policy"] == {"region": region}
        assert "weighted_routing_policy" not in record


def test_the_api_name_goes_live_only_after_every_base_path_mapping(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        mappings = {
            f"{ApiGatewayBasePathMapping.TF_RESOURCE_TYPE}.{name}"
            for name in resources(app, ApiGatewayBasePathMapping.TF_RESOURCE_TYPE)
        }
        assert len(mappings) == len(app.settings.regions)
        live = [
            *resources(app, Route53TrafficPolicyInstance.TF_RESOURCE_TYPE).values(),
            *resources(app, Route53Record.TF_RESOURCE_TYPE).values(),
        ]
        api_records = [r for r in live if r["name"] == app.settings.names.api_domain]
        assert api_records, app.name
        for record in api_records:
            assert set(record["depends_on"]) == mappings, app.name
