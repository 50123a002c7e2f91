"""Monitoring: encrypted alarm topics, alarms wired to them, dashboards in the right region."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from cdktf import App, TerraformStack, TerraformVariable, Testing
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription

from epoch_constructs.monitoring import HealthCheckAlarms, MonitoringProps, RegionMonitoring
from epoch_constructs.providers import region_id
from epoch_settings import Settings, load_settings
from tests.conftest import PROJECT_ROOT
from tests.infra.helpers import document_text

ROUTE53_REGION = "us-east-1"
FUNCTIONS = {"register": "fn-register", "read": "fn-read", "health": "fn-health"}
API_NAME = "test-api"
STAGE_NAME = "v1"
TABLE_NAME = "test-table"
ACCESS_LOG_GROUP = "/aws/apigateway/test-api/v1/access"
WEB_ACL_METRIC = "test-acl"


def key_arn(region: str) -> str:
    return f"arn:aws:kms:{region}:111122223333:key/mrk-{region_id(region)}"


def provider_ref(region: str) -> str:
    return f"aws.{region_id(region)}"


@dataclass(frozen=True)
class Synth:
    """One synthesized test stack, parsed."""

    text: str

    @property
    def stack(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.text)
        return parsed

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.stack.get("resource", {}).get(resource_type, {})
        return found


@dataclass(frozen=True)
class Stacks:
    settings: Settings
    main: Synth  # alarm_email set
    no_email: Synth  # alarm_email None; function names given in reverse order
    token_table: Synth  # one region whose table name is only known at apply time


def monitoring_props(settings: Settings) -> MonitoringProps:
    return MonitoringProps(
        names=settings.names, regions=settings.regions, alarm_email=settings.alarm_email
    )


def build(
    app: App, name: str, settings: Settings, function_names: Mapping[str, str]
) -> TerraformStack:
    """Both constructs over every configured region, as the root stack wires them."""
    stack = TerraformStack(app, name)
    providers = {
        region: AwsProvider(
            stack, f"aws_{region_id(region)}", region=region, alias=region_id(region)
        )
        for region in settings.regions
    }
    health_check_ids = {
        region: Route53HealthCheck(
            stack,
            f"health_{region_id(region)}",
            provider=providers[ROUTE53_REGION],
            type="HTTPS",
            fqdn=f"abc.execute-api.{region}.amazonaws.com",
        ).id
        for region in settings.regions
    }
    for region in settings.regions:
        RegionMonitoring(
            stack,
            f"monitoring_{region_id(region)}",
            provider=providers[region],
            region=region,
            props=monitoring_props(settings),
            key_arn=key_arn(region),
            function_names=function_names,
            api_name=API_NAME,
            stage_name=STAGE_NAME,
            table_name=TABLE_NAME,
            access_log_group=ACCESS_LOG_GROUP,
            web_acl_metric=WEB_ACL_METRIC,
        )
    HealthCheckAlarms(
        stack,
        "health_check_alarms",
        provider=providers[ROUTE53_REGION],
        props=monitoring_props(settings),
        key_arn=key_arn(ROUTE53_REGION),
        health_check_ids=health_check_ids,
    )
    return stack


@pytest.fixture(scope="module")
def stacks() -> Stacks:
    settings = load_settings(PROJECT_ROOT / "settings.toml")
    assert settings.alarm_email is not None, "the checked-in settings set alarm_email"
    assert ROUTE53_REGION in settings.regions
    app = Testing.app()
    main = build(app, "main", settings, FUNCTIONS)
    no_email = build(
        app,
        "no_email",
        settings.model_copy(update={"alarm_email": None}),
        dict(reversed(FUNCTIONS.items())),
    )
    token_stack = TerraformStack(app, "token_table")
    region = settings.primary_region
    RegionMonitoring(
        token_stack,
        "monitoring",
        provider=AwsProvider(token_stack, "aws", region=region, alias=region_id(region)),
        region=region,
        props=monitoring_props(settings),
        key_arn=key_arn(region),
        function_names=FUNCTIONS,
        api_name=API_NAME,
        stage_name=STAGE_NAME,
        table_name=TerraformVariable(token_stack, "table_name", type="string").string_value,
        access_log_group=ACCESS_LOG_GROUP,
        web_acl_metric=WEB_ACL_METRIC,
    )
    return Stacks(
        settings=settings,
        main=Synth(Testing.synth(main)),
        no_email=Synth(Testing.synth(no_email)),
        token_table=Synth(Testing.synth(token_stack)),
    )


def topic_ref(synth: Synth, name: str, provider: str) -> str:
    """The ARN reference of the one topic called `name` in `provider`'s region."""
    (ref,) = [
        f"${{{SnsTopic.TF_RESOURCE_TYPE}.{address}.arn}}"
        for address, topic in synth.resources(SnsTopic.TF_RESOURCE_TYPE).items()
        if topic["name"] == name and topic["provider"] == provider
    ]
    return ref


def alarms(synth: Synth, region: str) -> list[dict[str, Any]]:
    """The regional alarms of `region` (not the Route 53 ones)."""
    return [
        a
        for a in synth.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
        if a["provider"] == provider_ref(region) and a["namespace"] != "AWS/Route53"
    ]


def route53_alarms(synth: Synth) -> list[dict[str, Any]]:
    return [
        a
        for a in synth.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
        if a["namespace"] == "AWS/Route53"
    ]


def test_topics_are_encrypted_with_their_regions_key(stacks: Stacks) -> None:
    names = stacks.settings.names
    topics = stacks.main.resources(SnsTopic.TF_RESOURCE_TYPE).values()
    assert len(topics) == len(stacks.settings.regions) + 1
    for region in stacks.settings.regions:
        assert Testing.to_have_resource_with_properties(
            stacks.main.text,
            SnsTopic.TF_RESOURCE_TYPE,
            {
                "name": names.alarm_topic,
                "kms_master_key_id": key_arn(region),
                "provider": provider_ref(region),
            },
        ), region
    assert Testing.to_have_resource_with_properties(
        stacks.main.text,
        SnsTopic.TF_RESOURCE_TYPE,
        {
            "name": f"{names.alarm_topic}-route53",
            "kms_master_key_id": key_arn(ROUTE53_REGION),
            "provider": provider_ref(ROUTE53_REGION),
        },
    )


def test_every_topic_emails_the_configured_address(stacks: Stacks) -> None:
    subscriptions = stacks.main.resources(SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    topics = stacks.main.resources(SnsTopic.TF_RESOURCE_TYPE)
    assert sorted(s["topic_arn"] for s in subscriptions) == sorted(
        f"${{{SnsTopic.TF_RESOURCE_TYPE}.{address}.arn}}" for address in topics
    )
    for subscription in subscriptions:
        assert subscription["protocol"] == "email"
        assert subscription["endpoint"] == stacks.settings.alarm_email


def test_no_subscription_without_alarm_email(stacks: Stacks) -> None:
    assert stacks.no_email.resources(SnsTopic.TF_RESOURCE_TYPE)
    assert not stacks.no_email.resources(SnsTopicSubscription.TF_RESOURCE_TYPE)


def test_every_alarm_notifies_its_own_topic_on_alarm_and_recovery(stacks: Stacks) -> None:
    names = stacks.settings.names
    every_alarm = stacks.main.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values()
    # Per region: 5XX, p99, 4XX, 429, WAF blocks, 2 per function, 2 table throttles,
    # 1 per other region; + Route 53.
    per_region = 5 + 2 * len(FUNCTIONS) + 2 + (len(stacks.settings.regions) - 1)
    assert len(every_alarm) == len(stacks.settings.regions) * (per_region + 1)
    for region in stacks.settings.regions:
        regional = alarms(stacks.main, region)
        assert len(regional) == per_region, region
        expected = [topic_ref(stacks.main, names.alarm_topic, provider_ref(region))]
        for alarm in regional:
            assert alarm["alarm_actions"] == expected, alarm["alarm_name"]
            assert alarm["ok_actions"] == expected, alarm["alarm_name"]
            assert alarm["treat_missing_data"] == "notBreaching", alarm["alarm_name"]
            assert alarm["alarm_description"], alarm["alarm_name"]
    route53 = [topic_ref(stacks.main, f"{names.alarm_topic}-route53", provider_ref(ROUTE53_REGION))]
    for alarm in route53_alarms(stacks.main):
        assert alarm["alarm_actions"] == route53, alarm["alarm_name"]
        assert alarm["ok_actions"] == route53, alarm["alarm_name"]


def test_alarm_names_are_unique_and_name_their_region(stacks: Stacks) -> None:
    every_alarm = list(stacks.main.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE).values())
    names = [a["alarm_name"] for a in every_alarm]
    assert len(set(names)) == len(names)
    for region in stacks.settings.regions:
        for alarm in alarms(stacks.main, region):
            assert alarm["alarm_name"].startswith(f"{stacks.settings.app_name}-{region}-")


def test_api_alarms_watch_the_5xx_ratio_and_p99_latency(stacks: Stacks) -> None:
    dimensions = {"ApiName": API_NAME, "Stage": STAGE_NAME}
    for region in stacks.settings.regions:
        by_metric = {
            a["metric_name"]: a
            for a in alarms(stacks.main, region)
            if a["namespace"] == "AWS/ApiGateway"
        }
        assert set(by_metric) == {"5XXError", "4XXError", "Latency"}, region
        assert by_metric["4XXError"]["dimensions"] == dimensions
        errors = by_metric["5XXError"]
        assert errors["statistic"] == "Average"
        assert errors["comparison_operator"] == "GreaterThanThreshold"
        assert errors["threshold"] == 0.05
        assert errors["period"] == 60
        assert errors["evaluation_periods"] == 5
        assert 1 <= errors["datapoints_to_alarm"] <= 5
        assert errors["dimensions"] == dimensions
        latency = by_metric["Latency"]
        assert latency["extended_statistic"] == "p99"
        assert "statistic" not in latency
        assert latency["threshold"] == 2000
        assert latency["dimensions"] == dimensions


def test_each_function_has_error_and_throttle_alarms(stacks: Stacks) -> None:
    for region in stacks.settings.regions:
        watched = sorted(
            (a["metric_name"], a["dimensions"]["FunctionName"])
            for a in alarms(stacks.main, region)
            if a["namespace"] == "AWS/Lambda"
        )
        expected = sorted(
            (metric, name) for name in FUNCTIONS.values() for metric in ("Errors", "Throttles")
        )
        assert watched == expected, region
        for alarm in alarms(stacks.main, region):
            if alarm["namespace"] == "AWS/Lambda":
                assert alarm["statistic"] == "Sum"
                assert alarm["threshold"] >= 1


def test_table_throttle_alarms_in_every_region(stacks: Stacks) -> None:
    for region in stacks.settings.regions:
        throttles = sorted(
            a["metric_name"]
            for a in alarms(stacks.main, region)
            if a["namespace"] == "AWS/DynamoDB" and a["metric_name"] != "ReplicationLatency"
        )
        assert throttles == ["ReadThrottleEvents", "WriteThrottleEvents"], region
        assert Testing.to_have_resource_with_properties(
            stacks.main.text,
            CloudwatchMetricAlarm.TF_RESOURCE_TYPE,
            {
                "metric_name": "WriteThrottleEvents",
                "statistic": "Sum",
                "dimensions": {"TableName": TABLE_NAME},
                "provider": provider_ref(region),
            },
        )


def test_replication_latency_alarms_cover_exactly_the_other_regions(stacks: Stacks) -> None:
    regions = stacks.settings.regions
    for region in regions:
        replication = [
            a for a in alarms(stacks.main, region) if a["metric_name"] == "ReplicationLatency"
        ]
        receiving = [a["dimensions"]["ReceivingRegion"] for a in replication]
        assert receiving == [r for r in regions if r != region], region
        for alarm in replication:
            assert alarm["namespace"] == "AWS/DynamoDB"
            assert alarm["dimensions"]["TableName"] == TABLE_NAME
            assert alarm["statistic"] == "Average"
            assert alarm["comparison_operator"] == "GreaterThanThreshold"
            assert alarm["threshold"] == 30_000


def test_one_health_check_alarm_per_region_in_us_east_1(stacks: Stacks) -> None:
    found = route53_alarms(stacks.main)
    checks = stacks.main.resources(Route53HealthCheck.TF_RESOURCE_TYPE)
    assert len(found) == len(stacks.settings.regions)
    for region, alarm in zip(stacks.settings.regions, found, strict=True):
        assert alarm["provider"] == provider_ref(ROUTE53_REGION)
        assert alarm["metric_name"] == "HealthCheckStatus"
        assert alarm["statistic"] == "Minimum"
        assert alarm["comparison_operator"] == "LessThanThreshold"
        assert alarm["threshold"] == 1
        assert alarm["period"] == 60
        assert alarm["evaluation_periods"] == 1
        address = f"health_{region_id(region)}"
        assert address in checks
        check_ref = f"${{{Route53HealthCheck.TF_RESOURCE_TYPE}.{address}.id}}"
        assert alarm["dimensions"] == {"HealthCheckId": check_ref}, region
        assert region in alarm["alarm_name"]


def test_alarm_addresses_do_not_depend_on_mapping_order_or_email(stacks: Stacks) -> None:
    main = stacks.main.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE)
    reordered = stacks.no_email.resources(CloudwatchMetricAlarm.TF_RESOURCE_TYPE)
    assert main
    assert main == reordered
    for address in main:
        assert address.startswith(("monitoring_", "health_check_alarms_")), address


def dashboard_bodies(synth: Synth) -> dict[str, dict[str, Any]]:
    """Dashboard name -> parsed body (fails when a body is not plain JSON)."""
    return {
        d["dashboard_name"]: json.loads(d["dashboard_body"])
        for d in synth.resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    }


def metric_names(body: dict[str, Any]) -> list[str]:
    return [row[1] for w in body["widgets"] for row in w["properties"]["metrics"]]


def test_one_dashboard_per_region_with_widgets_in_that_region(stacks: Stacks) -> None:
    prefix = stacks.settings.names.dashboard_prefix
    bodies = dashboard_bodies(stacks.main)
    assert sorted(bodies) == sorted(f"{prefix}-{r}" for r in stacks.settings.regions)
    for region in stacks.settings.regions:
        assert Testing.to_have_resource_with_properties(
            stacks.main.text,
            CloudwatchDashboard.TF_RESOURCE_TYPE,
            {"dashboard_name": f"{prefix}-{region}", "provider": provider_ref(region)},
        )
        widgets = bodies[f"{prefix}-{region}"]["widgets"]
        assert widgets
        assert {w["properties"]["region"] for w in widgets} == {region}
        positions = [(w["x"], w["y"]) for w in widgets]
        assert len(set(positions)) == len(positions), "widgets overlap"


def test_dashboard_shows_api_functions_and_table(stacks: Stacks) -> None:
    regions = stacks.settings.regions
    for name, body in dashboard_bodies(stacks.main).items():
        region = name.removeprefix(f"{stacks.settings.names.dashboard_prefix}-")
        metrics = metric_names(body)
        for metric in ("Count", "4XXError", "5XXError", "Latency"):
            assert metric in metrics, (name, metric)
        for metric in (
            "Invocations",
            "Errors",
            "Throttles",
            "Duration",
            "ProvisionedConcurrencySpilloverInvocations",
        ):
            assert metrics.count(metric) == len(FUNCTIONS), (name, metric)
        for metric in (
            "ConsumedReadCapacityUnits",
            "ConsumedWriteCapacityUnits",
            "ReadThrottleEvents",
            "WriteThrottleEvents",
        ):
            assert metric in metrics, (name, metric)
        latency_stats = {
            row[-1]["stat"]
            for w in body["widgets"]
            for row in w["properties"]["metrics"]
            if row[1] == "Latency"
        }
        assert latency_stats == {"p50", "p99"}
        receiving = [
            row[row.index("ReceivingRegion") + 1]
            for w in body["widgets"]
            for row in w["properties"]["metrics"]
            if row[1] == "ReplicationLatency"
        ]
        assert receiving == [r for r in regions if r != region], name


def test_dashboard_with_an_unknown_table_name_interpolates_it(stacks: Stacks) -> None:
    (dashboard,) = stacks.token_table.resources(CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    # Terraform's format() of the JSON text, the name as its argument (epoch_blocks.tf_json).
    body = json.loads(document_text(dashboard["dashboard_body"]))
    assert "${var.table_name}" in json.dumps(body)
