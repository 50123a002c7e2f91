"""The abuse and cost limits in the synthesized JSON: WAF rules, route throttling,
reserved concurrency, retention (TTL), alarms and the budget, at the defaults and in
the `limits` variant that sets every one of them."""

from __future__ import annotations

from typing import Any

import pytest
from cdktf_cdktf_provider_aws.api_gateway_method_settings import ApiGatewayMethodSettings
from cdktf_cdktf_provider_aws.budgets_budget import BudgetsBudget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import CloudwatchLogMetricFilter
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl

from epoch_constructs.monitoring import (
    API_4XX_RATE_THRESHOLD,
    API_THROTTLED_THRESHOLD,
    THROTTLED_METRIC,
    WAF_BLOCKED_THRESHOLD,
)
from epoch_constructs.region_frontend.waf import (
    BODY_SIZE_RULE,
    IP_REPUTATION_GROUP,
    RATE_LIMIT_RULE,
    REGISTER_RATE_LIMIT_RULE,
    WCU_PRICED_LIMIT,
    statement_wcu,
)
from handlers import contract
from tests.infra.conftest import Synthesized
from tests.infra.helpers import only, references, region_of, resources


@pytest.fixture(scope="module")
def limits(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["limits"]


def rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in acl["rule"]}


def acls(app: Synthesized) -> list[dict[str, Any]]:
    found = list(resources(app, Wafv2WebAcl.TF_RESOURCE_TYPE).values())
    assert len(found) == len(app.settings.regions)
    return found


# --- WAF ---------------------------------------------------------------------------


def test_writes_have_a_lower_per_ip_limit_scoped_to_the_register_route(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        api = app.settings.api
        for acl in acls(app):
            by_name = rules(acl)
            statement = by_name[REGISTER_RATE_LIMIT_RULE]["statement"]["rate_based_statement"]
            assert statement["limit"] == api.waf_register_rate_limit < api.waf_rate_limit
            assert statement["aggregate_key_type"] == "IP"
            matches = [
                s["byte_match_statement"]
                for s in statement["scope_down_statement"]["and_statement"]["statement"]
            ]
            assert [(m["field_to_match"], m["search_string"]) for m in matches] == [
                ({"method": {}}, contract.ROUTE_REGISTER.method),
                ({"uri_path": {}}, contract.ROUTE_REGISTER.path),
            ]
            assert by_name[REGISTER_RATE_LIMIT_RULE]["action"] == {"block": {}}
            # Evaluated before the every-route limit, which counts the same POSTs.
            assert (
                by_name[REGISTER_RATE_LIMIT_RULE]["priority"] < by_name[RATE_LIMIT_RULE]["priority"]
            )


def test_the_ip_reputation_list_blocks_first_unless_switched_off(
    default_app: Synthesized, limits: Synthesized
) -> None:
    assert default_app.settings.api.waf_ip_reputation_enabled
    for acl in acls(default_app):
        first = min(acl["rule"], key=lambda rule: rule["priority"])
        assert first["name"] == IP_REPUTATION_GROUP
        assert first["statement"] == {
            "managed_rule_group_statement": {"name": IP_REPUTATION_GROUP, "vendor_name": "AWS"}
        }
        # `none` keeps the group's own Block actions (no rule overridden to count).
        assert first["override_action"] == {"none": {}}
    assert not limits.settings.api.waf_ip_reputation_enabled
    for acl in acls(limits):
        assert IP_REPUTATION_GROUP not in rules(acl)


def test_the_body_size_rule_matches_the_handlers_limit(
    default_app: Synthesized, limits: Synthesized
) -> None:
    for app, size in ((default_app, contract.MAX_BODY_BYTES), (limits, 512)):
        assert app.settings.api.waf_max_body_bytes == size
        for acl in acls(app):
            rule = rules(acl)[BODY_SIZE_RULE]
            assert rule["action"] == {"block": {}}
            assert rule["statement"]["size_constraint_statement"] == {
                "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                "comparison_operator": "GT",
                "size": size,
                "text_transformation": [{"priority": 0, "type": "NONE"}],
            }


def test_rule_priorities_are_distinct_and_dense(synthesized_apps: dict[str, Synthesized]) -> None:
    for app in synthesized_apps.values():
        for acl in acls(app):
            priorities = [rule["priority"] for rule in acl["rule"]]
            assert sorted(priorities) == list(range(len(priorities))), app.name


def test_every_web_acl_stays_within_the_priced_capacity(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        for acl in acls(app):
            capacity = sum(statement_wcu(rule["statement"]) for rule in acl["rule"])
            # 700 + 200 + 50 + 25 managed, 2 + 2 + 10 + 10 write limit, 2, 1.
            expected = 1002 if app.settings.api.waf_ip_reputation_enabled else 977
            assert capacity == expected, app.name
            assert capacity <= WCU_PRICED_LIMIT


# --- API Gateway route throttling --------------------------------------------------


def test_the_register_route_has_its_own_stage_throttling(
    default_app: Synthesized, limits: Synthesized
) -> None:
    for app in (default_app, limits):
        api = app.settings.api
        found = resources(app, ApiGatewayMethodSettings.TF_RESOURCE_TYPE).values()
        by_region: dict[str, dict[str, tuple[float, int]]] = {}
        for item in found:
            by_region.setdefault(region_of(item), {})[item["method_path"]] = (
                item["settings"]["throttling_rate_limit"],
                item["settings"]["throttling_burst_limit"],
            )
        expected = {
            "*/*": (api.throttle_rate_limit, api.throttle_burst_limit),
            "EpochRegisterTime/POST": (
                api.register_throttle_rate_limit,
                api.register_throttle_burst_limit,
            ),
        }
        assert by_region == {region: expected for region in app.settings.regions}, app.name
    assert limits.settings.api.register_throttle_rate_limit == 10.0


# --- Lambda reserved concurrency ---------------------------------------------------


def test_reserved_concurrency_only_when_set(default_app: Synthesized, limits: Synthesized) -> None:
    for function in resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values():
        # Absent means unreserved; Lambda's own 0 would stop the function.
        assert "reserved_concurrent_executions" not in function
    functions = resources(limits, LambdaFunction.TF_RESOURCE_TYPE).values()
    assert len(functions) == len(contract.FUNCTION_HANDLERS) * len(limits.settings.regions)
    for function in functions:
        assert function["reserved_concurrent_executions"] == 50


# --- Retention -----------------------------------------------------------------------


def test_retention_off_by_default_leaves_no_ttl(default_app: Synthesized) -> None:
    table = only(default_app, DynamodbTable.TF_RESOURCE_TYPE)
    assert "ttl" not in table
    for function in resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values():
        assert contract.ENV_RETENTION_DAYS not in function["environment"]["variables"]


def test_retention_sets_the_table_ttl_and_tells_every_function(limits: Synthesized) -> None:
    table = only(limits, DynamodbTable.TF_RESOURCE_TYPE)
    assert table["ttl"] == {"attribute_name": contract.TTL_ATTRIBUTE, "enabled": True}
    # TTL deletes replicate to the replicas; the replica resource has no TTL of its own.
    for replica in resources(limits, DynamodbTableReplicaA.TF_RESOURCE_TYPE).values():
        assert "ttl" not in replica
    for function in resources(limits, LambdaFunction.TF_RESOURCE_TYPE).values():
        assert function["environment"]["variables"][contract.ENV_RETENTION_DAYS] == "30"


# --- Alarms ----------------------------------------------------------------------------


def regional_alarms(app: Synthesized, region: str) -> dict[str, dict[str, Any]]:
    return {
        alarm["alarm_name"].removeprefix(f"{app.settings.app_name}-{region}-"): alarm
        for alarm in resources(app, CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
        if alarm["alarm_name"].startswith(f"{app.settings.app_name}-{region}-")
    }


def test_4xx_429_and_waf_alarms_notify_the_region_topic(default_app: Synthesized) -> None:
    topics = resources(default_app, SnsTopic.TF_RESOURCE_TYPE)
    groups = resources(default_app, CloudwatchLogGroup.TF_RESOURCE_TYPE)
    filters = list(resources(default_app, CloudwatchLogMetricFilter.TF_RESOURCE_TYPE).values())
    assert len(filters) == len(default_app.settings.regions)
    acl_metric = {
        region_of(acl): acl["visibility_config"]["metric_name"] for acl in acls(default_app)
    }
    namespace = default_app.settings.names.metrics_namespace
    for region in default_app.settings.regions:
        alarms = regional_alarms(default_app, region)
        for name in ("api-4xx-rate", "api-429", "waf-blocked"):
            (topic,) = references(alarms[name]["alarm_actions"][0], "aws_sns_topic", "arn")
            assert region_of(topics[topic]) == region == region_of(alarms[name])
        assert (alarms["api-4xx-rate"]["metric_name"], alarms["api-4xx-rate"]["statistic"]) == (
            "4XXError",
            "Average",
        )
        assert alarms["api-4xx-rate"]["threshold"] == API_4XX_RATE_THRESHOLD
        throttled = alarms["api-429"]
        assert (throttled["namespace"], throttled["metric_name"]) == (namespace, THROTTLED_METRIC)
        assert throttled["threshold"] == API_THROTTLED_THRESHOLD
        assert "dimensions" not in throttled
        blocked = alarms["waf-blocked"]
        assert (blocked["namespace"], blocked["metric_name"]) == ("AWS/WAFV2", "BlockedRequests")
        assert blocked["dimensions"] == {
            "WebACL": acl_metric[region],
            "Region": region,
            "Rule": "ALL",
        }
        assert blocked["threshold"] == WAF_BLOCKED_THRESHOLD
        # The 429 count comes from the region's access log: a filter on its status field.
        (metric_filter,) = [f for f in filters if region_of(f) == region]
        (group,) = references(metric_filter["log_group_name"], "aws_cloudwatch_log_group", "name")
        assert groups[group]["name"].endswith("/access")
        assert region_of(groups[group]) == region
        assert metric_filter["pattern"] == '{ $.status = "429" }'
        assert metric_filter["metric_transformation"] == {
            "name": THROTTLED_METRIC,
            "namespace": namespace,
            "value": "1",
            "unit": "Count",
        }


# --- Budget ----------------------------------------------------------------------------


def test_one_monthly_budget_through_the_primary_region(
    default_app: Synthesized, limits: Synthesized
) -> None:
    for app, amount, percentages in (
        (default_app, "300.00", [80, 100]),
        (limits, "450.50", [50, 90, 100]),
    ):
        budget = only(app, BudgetsBudget.TF_RESOURCE_TYPE)
        assert region_of(budget) == app.settings.primary_region
        assert (budget["budget_type"], budget["time_unit"]) == ("COST", "MONTHLY")
        assert (budget["limit_amount"], budget["limit_unit"]) == (amount, "USD")
        assert budget["name"] == f"{app.settings.app_name}-monthly"
        assert [n["threshold"] for n in budget["notification"]] == percentages
        for notification in budget["notification"]:
            assert notification["subscriber_email_addresses"] == [app.settings.alarm_email]
            assert notification["threshold_type"] == "PERCENTAGE"
            assert notification["notification_type"] == "ACTUAL"
            assert notification["comparison_operator"] == "GREATER_THAN"


def test_without_alarm_email_the_budget_has_no_alerts(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    app = synthesized_apps["latency_on_demand_eu"]
    assert app.settings.alarm_email is None
    budget = only(app, BudgetsBudget.TF_RESOURCE_TYPE)
    assert "notification" not in budget
    assert region_of(budget) == app.settings.primary_region == "eu-west-1"


def test_a_zero_budget_creates_none(
    default_app: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from epoch_app.app import synth_to

    settings = default_app.settings
    off = settings.model_copy(
        update={"budget": settings.budget.model_copy(update={"monthly_usd": 0.0})}
    )
    outdir = tmp_path_factory.mktemp("budget_off") / "cdktf.out"
    synth_to(off, outdir)
    app = Synthesized(name="budget_off", settings=off, outdir=outdir)
    assert not resources(app, BudgetsBudget.TF_RESOURCE_TYPE)
