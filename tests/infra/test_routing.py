"""Route 53: health checks on each region's own endpoint, and the three routing modes."""

from __future__ import annotations

import json
import re

from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import (
    LambdaProvisionedConcurrencyConfig,
)
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.route53_traffic_policy import Route53TrafficPolicy
from cdktf_cdktf_provider_aws.route53_traffic_policy_instance import (
    Route53TrafficPolicyInstance,
)

from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, document_text, only, region_of, resources


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
            assert check["resource_path"] == "/v1/health"
            assert check["failure_threshold"] == app.settings.routing.health_check_failure_threshold


def test_health_checks_follow_the_cost_settings(synthesized_apps: dict[str, Synthesized]) -> None:
    seen = set()
    for app in synthesized_apps.values():
        routing = app.settings.routing
        for check in resources(app, Route53HealthCheck.TF_RESOURCE_TYPE).values():
            assert check["request_interval"] == routing.health_check_interval, app.name
            assert check["regions"] == list(routing.health_check_regions), app.name
            assert check["measure_latency"] is routing.health_check_measure_latency, app.name
            seen.add((check["request_interval"], len(check["regions"]), check["measure_latency"]))
            # Changing either replaces the check while records still use the old one.
            assert check["lifecycle"] == {"create_before_destroy": True}, app.name
    # The defaults (30 s, 3 checker regions, no latency graphs) and the other end.
    assert {(30, 3, False), (10, 8, True)} <= seen


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
    document = json.loads(document_text(default_app.stack(ROOT)["locals"][local_name]))
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


def serving_resources(app: Synthesized, region: str) -> set[str]:
    """What GET /health in `region` needs to answer 200 through the custom domain."""
    found = set()
    for kind in (
        DynamodbTable,
        DynamodbTableReplicaA,
        LambdaAlias,
        LambdaProvisionedConcurrencyConfig,
        LambdaPermission,
        ApiGatewayBasePathMapping,
    ):
        found |= {
            f"{kind.TF_RESOURCE_TYPE}.{name}"
            for name, resource in resources(app, kind.TF_RESOURCE_TYPE).items()
            if region_of(resource) == region
        }
    return found


def test_the_api_name_waits_until_every_region_can_answer(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    # Nothing references the replicas, aliases or warm pools: without depends_on,
    # api.<domain> could point at a region whose /health still answers 503.
    for app in synthesized_apps.values():
        per_region = {region: serving_resources(app, region) for region in app.settings.regions}
        for region, needed in per_region.items():
            kinds = {address.split(".")[0] for address in needed}
            table_kind = (
                DynamodbTable if region == app.settings.primary_region else DynamodbTableReplicaA
            )
            assert table_kind.TF_RESOURCE_TYPE in kinds, (app.name, region)
            # table or replica, alias, permission, base path mapping (+ warm pool)
            expected_kinds = 5 if app.settings.functions.provisioned_concurrency else 4
            assert len(kinds) == expected_kinds, (app.name, region, kinds)
        everything = set().union(*per_region.values())
        live = [
            *resources(app, Route53TrafficPolicyInstance.TF_RESOURCE_TYPE).values(),
            *resources(app, Route53Record.TF_RESOURCE_TYPE).values(),
        ]
        api_records = [r for r in live if r["name"] == app.settings.names.api_domain]
        traffic_policy = app.settings.routing.mode == "traffic-policy"
        expected_records = 1 if traffic_policy else len(app.settings.regions)
        assert len(api_records) == expected_records, app.name
        for record in api_records:
            assert set(record["depends_on"]) == everything, app.name


def test_each_health_check_waits_until_its_region_can_answer(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    # A check created earlier probes a 503 and fires its alarm during the first deploy.
    for app in synthesized_apps.values():
        for check in resources(app, Route53HealthCheck.TF_RESOURCE_TYPE).values():
            (region,) = [
                r for r in app.settings.regions if check["fqdn"].endswith(f".{r}.amazonaws.com")
            ]
            assert set(check["depends_on"]) == serving_resources(app, region), app.name
