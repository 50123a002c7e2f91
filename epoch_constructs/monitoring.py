"""Monitoring: alarm topics, alarms and a dashboard per region; Route 53 health-check alarms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.budgets_budget import (
    BudgetsBudget,
    BudgetsBudgetNotification,
)
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import (
    CloudwatchLogMetricFilter,
    CloudwatchLogMetricFilterMetricTransformation,
)
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from epoch_blocks.tf_json import json_document
from epoch_constructs.providers import region_id
from epoch_settings import BudgetSettings, Names

# Every regional alarm looks at 1-minute datapoints and fires when 3 of the last
# 5 breach: a single bad minute is noise, three are an incident.
PERIOD_SECONDS = 60
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3

API_5XX_RATE_THRESHOLD = 0.05  # share of requests (5XXError's Average is the error ratio)
# 4XXError counts every 4XX API Gateway answers, 429s of its throttling included, and
# client mistakes; a quarter of all requests for 3 minutes is a flood or a broken client.
API_4XX_RATE_THRESHOLD = 0.25
# 429s per minute: API Gateway publishes no 429 metric of its own, so a metric filter
# on the stage's access log (status 429) counts them: stage, route and account throttling.
API_THROTTLED_THRESHOLD = 60
THROTTLED_METRIC = "Throttled429"
# Requests WAF blocked per minute, every rule together (the ACL's `ALL` metric).
WAF_BLOCKED_THRESHOLD = 100
API_P99_LATENCY_THRESHOLD_MS = 2000
FUNCTION_ERRORS_THRESHOLD = 1
FUNCTION_THROTTLES_THRESHOLD = 1
TABLE_THROTTLES_THRESHOLD = 1
REPLICATION_LATENCY_THRESHOLD_MS = 30_000

WIDGET_WIDTH = 12  # the dashboard grid is 24 units wide: two widgets per row
WIDGET_HEIGHT = 6


def alarm_topic(
    scope: Construct,
    id_: str,
    *,
    provider: AwsProvider,
    name: str,
    key_arn: str,
    email: str | None,
) -> SnsTopic:
    """An SNS topic encrypted with the customer key, e-mailing `email` when one is given."""
    topic = SnsTopic(scope, id_, provider=provider, name=name, kms_master_key_id=key_arn)
    if email is not None:
        # Terraform cannot confirm an e-mail subscription: it stays pending until
        # the recipient clicks the link AWS sends.
        SnsTopicSubscription(
            scope,
            f"{id_}_email",
            provider=provider,
            topic_arn=topic.arn,
            protocol="email",
            endpoint=email,
        )
    return topic


def _alarm(
    scope: Construct,
    id_: str,
    *,
    provider: AwsProvider,
    topic: SnsTopic,
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, str],
    comparison: str,
    threshold: float,
    statistic: str | None = None,
    extended_statistic: str | None = None,
    evaluation_periods: int = EVALUATION_PERIODS,
    datapoints_to_alarm: int = DATAPOINTS_TO_ALARM,
    treat_missing_data: str = "notBreaching",
) -> CloudwatchMetricAlarm:
    return CloudwatchMetricAlarm(
        scope,
        id_,
        provider=provider,
        alarm_name=name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dict(dimensions) or None,
        statistic=statistic,
        extended_statistic=extended_statistic,
        period=PERIOD_SECONDS,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        comparison_operator=comparison,
        threshold=threshold,
        treat_missing_data=treat_missing_data,
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
    )


def _metric_widget(
    region: str,
    title: str,
    metrics: Sequence[Sequence[Any]],
    *,
    stat: str = "Sum",
    threshold: float | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "period": PERIOD_SECONDS,
        "stat": stat,
        "metrics": [list(m) for m in metrics],
    }
    if threshold is not None:
        properties["annotations"] = {
            "horizontal": [{"label": "alarm threshold", "value": threshold}]
        }
    return {
        "type": "metric",
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": properties,
    }


def dashboard_body(
    *,
    region: str,
    other_regions: Sequence[str],
    function_names: Mapping[str, str],
    api_name: str,
    stage_name: str,
    table_name: str,
) -> dict[str, Any]:
    """The region's dashboard: API, functions and table, two widgets per row."""
    api = ("ApiName", api_name, "Stage", stage_name)
    table = ("TableName", table_name)
    functions = [(logical, function_names[logical]) for logical in sorted(function_names)]

    def per_function(metric: str, **options: str) -> list[list[Any]]:
        return [
            ["AWS/Lambda", metric, "FunctionName", fn, {"label": logical, **options}]
            for logical, fn in functions
        ]

    widgets = [
        _metric_widget(
            region,
            "API requests and errors",
            [
                ["AWS/ApiGateway", "Count", *api, {"label": "requests"}],
                ["AWS/ApiGateway", "4XXError", *api, {"label": "4XX"}],
                ["AWS/ApiGateway", "5XXError", *api, {"label": "5XX"}],
            ],
        ),
        _metric_widget(
            region,
            "API latency (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50", "label": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99", "label": "p99"}],
            ],
            stat="p99",
            threshold=API_P99_LATENCY_THRESHOLD_MS,
        ),
        _metric_widget(region, "Lambda invocations", per_function("Invocations")),
        _metric_widget(region, "Lambda errors", per_function("Errors")),
        _metric_widget(region, "Lambda throttles", per_function("Throttles")),
        _metric_widget(
            region, "Lambda duration p99 (ms)", per_function("Duration", stat="p99"), stat="p99"
        ),
        _metric_widget(
            region,
            "Provisioned concurrency spillover (cold starts)",
            per_function("ProvisionedConcurrencySpilloverInvocations"),
        ),
        _metric_widget(
            region,
            "DynamoDB consumed capacity (units per minute)",
            [
                ["AWS/DynamoDB", "ConsumedReadCapacityUnits", *table, {"label": "RCU"}],
                ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", *table, {"label": "WCU"}],
            ],
        ),
        _metric_widget(
            region,
            "DynamoDB throttles",
            [
                ["AWS/DynamoDB", "ReadThrottleEvents", *table, {"label": "read"}],
                ["AWS/DynamoDB", "WriteThrottleEvents", *table, {"label": "write"}],
            ],
        ),
        _metric_widget(
            region,
            "DynamoDB replication latency (ms)",
            [
                [
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                    *table,
                    "ReceivingRegion",
                    other,
                    {"label": other},
                ]
                for other in other_regions
            ],
            stat="Average",
            threshold=REPLICATION_LATENCY_THRESHOLD_MS,
        ),
    ]
    for index, widget in enumerate(widgets):
        widget["x"] = (index % 2) * WIDGET_WIDTH
        widget["y"] = (index // 2) * WIDGET_HEIGHT
    return {"widgets": widgets}


@dataclass(frozen=True)
class MonitoringProps:
    """What the monitoring constructs read: the names, the regions, the alarm e-mail."""

    names: Names
    regions: tuple[str, ...]
    alarm_email: str | None


class RegionMonitoring(Construct):
    """Owns, in one region: the alarm topic, the alarms and the dashboard."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        region: str,
        props: MonitoringProps,
        key_arn: str,
        function_names: Mapping[str, str],
        api_name: str,
        stage_name: str,
        table_name: str,
        access_log_group: str,
        web_acl_metric: str,
    ) -> None:
        super().__init__(scope, id_)
        names = props.names
        prefix = f"{names.app}-{region}"
        # Alarm names by kind (the kinds settings' rollout.gate_alarms names).
        self.alarm_names: dict[str, list[str]] = {}
        dashboard_name = f"{names.dashboard_prefix}-{region}"
        self.topic = alarm_topic(
            self,
            "topic",
            provider=provider,
            name=names.alarm_topic,
            key_arn=key_arn,
            email=props.alarm_email,
        )
        other_regions = [r for r in props.regions if r != region]
        api_dimensions = {"ApiName": api_name, "Stage": stage_name}
        table_dimensions = {"TableName": table_name}
        look = f"See the {dashboard_name} dashboard"

        def alarm(kind: str, *args: Any, **kwargs: Any) -> None:
            self.alarm_names.setdefault(kind, []).append(kwargs["name"])
            _alarm(*args, **kwargs)

        alarm(
            "api-5xx-rate",
            self,
            "api_5xx_rate",
            provider=provider,
            topic=self.topic,
            name=f"{prefix}-api-5xx-rate",
            description=(
                f"More than {API_5XX_RATE_THRESHOLD:.0%} of {api_name} requests in {region} "
                f"fail with 5XX. {look} and the functions' logs; if the region stays "
                "broken, drain it (routing.drill_regions) so Route 53 sends traffic elsewhere."
            ),
            namespace="AWS/ApiGateway",
            metric="5XXError",
            dimensions=api_dimensions,
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=API_5XX_RATE_THRESHOLD,
        )
        alarm(
            "api-p99-latency",
            self,
            "api_p99_latency",
            provider=provider,
            topic=self.topic,
            name=f"{prefix}-api-p99-latency",
            description=(
                f"{api_name} p99 latency in {region} is above {API_P99_LATENCY_THRESHOLD_MS} ms. "
                f"{look}: Lambda duration, provisioned-concurrency spillover (cold starts) "
                "and DynamoDB throttling are the usual causes."
            ),
            namespace="AWS/ApiGateway",
            metric="Latency",
            dimensions=api_dimensions,
            extended_statistic="p99",
            comparison="GreaterThanThreshold",
            threshold=API_P99_LATENCY_THRESHOLD_MS,
        )
        _alarm(
            self,
            "api_4xx_rate",
            provider=provider,
            topic=self.topic,
            name=f"{prefix}-api-4xx-rate",
            description=(
                f"More than {API_4XX_RATE_THRESHOLD:.0%} of {api_name} requests in {region} "
                "get a 4XX (client errors and API Gateway's 429 throttling). Read the access "
                "log's status and ip fields: one client's flood, a scan, or a broken release "
                "of a client."
            ),
            namespace="AWS/ApiGateway",
            metric="4XXError",
            dimensions=api_dimensions,
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=API_4XX_RATE_THRESHOLD,
        )
        CloudwatchLogMetricFilter(
            self,
            "throttled_filter",
            provider=provider,
            name=f"{names.app}-api-429",
            log_group_name=access_log_group,
            pattern='{ $.status = "429" }',
            metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                name=THROTTLED_METRIC,
                namespace=names.metrics_namespace,
                value="1",
                unit="Count",
            ),
        )
        _alarm(
            self,
            "api_throttled",
            provider=provider,
            topic=self.topic,
            name=f"{prefix}-api-429",
            description=(
                f"API Gateway answers {API_THROTTLED_THRESHOLD} or more requests a minute "
                f"with 429 in {region} (stage or route throttling, or the account's limit). "
                "If one client causes it, WAF's per-IP limits come next; if every client "
                "does, raise api.throttle_rate_limit / register_throttle_rate_limit."
            ),
            namespace=names.metrics_namespace,
            metric=THROTTLED_METRIC,
            dimensions={},
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=API_THROTTLED_THRESHOLD,
        )
        _alarm(
            self,
            "waf_blocked",
            provider=provider,
            topic=self.topic,
            name=f"{prefix}-waf-blocked",
            description=(
                f"WAF blocks {WAF_BLOCKED_THRESHOLD} or more requests a minute in {region}. "
                "The AWS/WAFV2 BlockedRequests metric per rule (and the aws-waf-logs- log "
                "group) says which rule: a per-IP rate limit, the IP reputation list, the "
                "body size or a managed rule."
            ),
            namespace="AWS/WAFV2",
            metric="BlockedRequests",
            dimensions={"WebACL": web_acl_metric, "Region": region, "Rule": "ALL"},
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=WAF_BLOCKED_THRESHOLD,
        )
        for logical in sorted(function_names):
            function_name = function_names[logical]
            alarm(
                "function-errors",
                self,
                f"{logical}_errors",
                provider=provider,
                topic=self.topic,
                name=f"{prefix}-{logical}-errors",
                description=(
                    f"Lambda {function_name} in {region} fails with unhandled errors. Read its "
                    "log group for the stack trace; handled errors never count here."
                ),
                namespace="AWS/Lambda",
                metric="Errors",
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=FUNCTION_ERRORS_THRESHOLD,
            )
            alarm(
                "function-throttles",
                self,
                f"{logical}_throttles",
                provider=provider,
                topic=self.topic,
                name=f"{prefix}-{logical}-throttles",
                description=(
                    f"Lambda {function_name} in {region} is throttled: the account's concurrency "
                    "limit is reached. Raise lambda.provisioned_concurrency or request a higher "
                    "Lambda concurrency quota for the region."
                ),
                namespace="AWS/Lambda",
                metric="Throttles",
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=FUNCTION_THROTTLES_THRESHOLD,
            )
        for kind, metric in (("read", "ReadThrottleEvents"), ("write", "WriteThrottleEvents")):
            alarm(
                "table-throttles",
                self,
                f"table_{kind}_throttles",
                provider=provider,
                topic=self.topic,
                name=f"{prefix}-table-{kind}-throttles",
                description=(
                    f"DynamoDB throttles {kind}s on {table_name} in {region}; callers get 503. "
                    f"Raise table.{kind}_max (autoscaling ceiling) or use PAY_PER_REQUEST."
                ),
                namespace="AWS/DynamoDB",
                metric=metric,
                dimensions=table_dimensions,
                statistic="Sum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=TABLE_THROTTLES_THRESHOLD,
            )
        for other in other_regions:
            alarm(
                "replication-latency",
                self,
                f"replication_latency_{region_id(other)}",
                provider=provider,
                topic=self.topic,
                name=f"{prefix}-replication-latency-to-{other}",
                description=(
                    f"Writes to {table_name} in {region} reach {other} more than "
                    f"{REPLICATION_LATENCY_THRESHOLD_MS // 1000} s late, so reads there are stale. "
                    f"Check write throttling on the {other} replica and the AWS Health "
                    "Dashboard for DynamoDB in both regions."
                ),
                namespace="AWS/DynamoDB",
                metric="ReplicationLatency",
                dimensions={**table_dimensions, "ReceivingRegion": other},
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=REPLICATION_LATENCY_THRESHOLD_MS,
            )

        CloudwatchDashboard(
            self,
            "dashboard",
            provider=provider,
            dashboard_name=dashboard_name,
            dashboard_body=json_document(
                dashboard_body(
                    region=region,
                    other_regions=other_regions,
                    function_names=function_names,
                    api_name=api_name,
                    stage_name=stage_name,
                    table_name=table_name,
                )
            ),
        )


class HealthCheckAlarms(Construct):
    """Owns the Route 53 health-check alarms and their topic, in us-east-1."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        props: MonitoringProps,
        key_arn: str,
        health_check_ids: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        names = props.names
        # Route 53 publishes HealthCheckStatus only in us-east-1: `provider` must be that region's.
        self.topic = alarm_topic(
            self,
            "topic",
            provider=provider,
            name=f"{names.alarm_topic}-route53",
            key_arn=key_arn,
            email=props.alarm_email,
        )
        for region in props.regions:
            _alarm(
                self,
                f"{region_id(region)}_health",
                provider=provider,
                topic=self.topic,
                name=f"{names.app}-{region}-route53-health",
                description=(
                    f"Route 53 finds GET /health in {region} failing and routes traffic away "
                    f"from it. See the {names.dashboard_prefix}-{region} dashboard and that "
                    "region's alarms."
                ),
                namespace="AWS/Route53",
                metric="HealthCheckStatus",
                dimensions={"HealthCheckId": health_check_ids[region]},
                statistic="Minimum",
                comparison="LessThanThreshold",
                threshold=1,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                # A check that stops reporting is no evidence that the region is healthy.
                treat_missing_data="breaching",
            )


class MonthlyBudget(Construct):
    """Owns the account's AWS Budgets monthly cost budget (global: created once)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        props: MonitoringProps,
        budget: BudgetSettings,
    ) -> None:
        super().__init__(scope, id_)
        email = props.alarm_email
        # Without an e-mail the budget still tracks the month in the console: AWS
        # Budgets needs a subscriber for every notification.
        notifications = (
            [
                BudgetsBudgetNotification(
                    comparison_operator="GREATER_THAN",
                    notification_type="ACTUAL",
                    threshold=percentage,
                    threshold_type="PERCENTAGE",
                    subscriber_email_addresses=[email],
                )
                for percentage in budget.alert_percentages
            ]
            if email is not None
            else None
        )
        self.budget = BudgetsBudget(
            self,
            "budget",
            provider=provider,
            name=props.names.budget,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{budget.monthly_usd:.2f}",
            limit_unit="USD",
            notification=notifications,
        )
