"""Read the deployed resources back through boto3 (against the emulator) and assert the essentials.

Names come from the product's own settings model (`Settings.names`), the
routes from the shared contract, so the read-back checks what the product
meant to deploy, not a second copy of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from epoch_settings import Settings
from handlers import contract

ClientFactory = Callable[..., Any]
STAGE = "v1"
ROUTE53_ALARM_SUFFIX = "-route53-health"
ALIAS = "live"


class ReadbackError(Exception):
    """One or more essentials are missing or wrong; the message lists every one."""


@dataclass
class Findings:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, what: str, detail: str = "") -> bool:
        if condition:
            self.checked.append(what)
        else:
            self.problems.append(f"{what}: {detail}" if detail else what)
        return condition


def check_deployment(settings: Settings, client: ClientFactory) -> list[str]:
    """Every essential of one deployment; ReadbackError lists what is wrong."""
    found = Findings()
    try:
        keys = _region_keys(settings, client, found)
        _check_table(settings, client, keys, found)
        apis = {
            region: _check_region(settings, client, region, found) for region in settings.regions
        }
        _check_routing(settings, client, apis, found)
        if settings.api.auth == "api_key":
            _check_api_keys(settings, client, apis, found)
        _check_alarms(settings, client, keys, found)
    except (BotoCoreError, ClientError) as error:
        found.problems.append(f"reading back failed: {error}")
    if found.problems:
        raise ReadbackError("; ".join(found.problems))
    return found.checked


def _region_keys(settings: Settings, client: ClientFactory, found: Findings) -> dict[str, str]:
    """The data key's ARN in each region (primary key, then its replicas), by its alias."""
    keys = {}
    for region in settings.regions:
        kms = client("kms", region)
        try:
            meta = kms.describe_key(KeyId=settings.names.data_key_alias)["KeyMetadata"]
        except kms.exceptions.NotFoundException:
            found.expect(False, f"KMS alias {settings.names.data_key_alias} in {region}", "missing")
            continue
        found.expect(
            meta["Arn"].split(":")[3] == region and meta.get("MultiRegion") is True,
            f"multi-region data key in {region}",
            f"got {meta['Arn']}",
        )
        keys[region] = meta["Arn"]
    return keys


def _check_table(
    settings: Settings, client: ClientFactory, keys: dict[str, str], found: Findings
) -> None:
    name = settings.names.table
    primary = settings.primary_region
    table = client("dynamodb", primary).describe_table(TableName=name)["Table"]
    replicas = {r["RegionName"] for r in table.get("Replicas", [])}
    found.expect(
        replicas >= set(settings.regions[1:]),
        f"table {name}: one replica per other region {sorted(settings.regions[1:])}",
        f"replicas {sorted(replicas)}",
    )
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    found.expect(
        billing == settings.table.billing_mode,
        f"table billing mode {settings.table.billing_mode}",
        f"got {billing}",
    )
    for region in settings.regions:
        dynamodb = client("dynamodb", region)
        try:
            copy = dynamodb.describe_table(TableName=name)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            found.expect(False, f"table {name} readable in {region}", "not found")
            continue
        key = copy.get("SSEDescription", {}).get("KMSMasterKeyArn", "")
        found.expect(
            bool(key) and key == keys.get(region),
            f"table in {region} encrypted with {region}'s data key",
            f"got {key or 'no key'}, want {keys.get(region)}",
        )
        backups = dynamodb.describe_continuous_backups(TableName=name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        found.expect(
            pitr["PointInTimeRecoveryStatus"] == "ENABLED",
            f"point-in-time recovery on in {region}",
            f"got {pitr['PointInTimeRecoveryStatus']}",
        )


def _check_region(settings: Settings, client: ClientFactory, region: str, found: Findings) -> str:
    """Functions, alias, environment and the REST API of one region; returns the API id."""
    lam = client("lambda", region)
    for function in sorted({route.function for route in contract.ROUTES}):
        name = settings.names.function(function)
        config = lam.get_function_configuration(FunctionName=name)
        env = config.get("Environment", {}).get("Variables", {})
        found.expect(
            env.get(contract.ENV_TABLE_NAME) == settings.names.table,
            f"{region} {name}: {contract.ENV_TABLE_NAME}={settings.names.table}",
            f"environment {sorted(env)}",
        )
        found.expect(
            env.get(contract.ENV_LIST_SHARDS) == str(settings.table.list_shards),
            f"{region} {name}: {contract.ENV_LIST_SHARDS}={settings.table.list_shards}",
            f"got {env.get(contract.ENV_LIST_SHARDS)}",
        )
        alias = lam.get_alias(FunctionName=name, Name=ALIAS)
        found.expect(
            alias["FunctionVersion"] != "$LATEST",
            f"{region} {name}: alias {ALIAS} on a published version",
            f"points at {alias['FunctionVersion']}",
        )
    apigw = client("apigateway", region)
    apis = [api for api in apigw.get_rest_apis()["items"] if api["name"] == settings.names.api]
    if not found.expect(
        len(apis) == 1, f"{region}: one REST API {settings.names.api}", f"found {len(apis)}"
    ):
        return ""
    api_id = str(apis[0]["id"])
    stages = {stage["stageName"] for stage in apigw.get_stages(restApiId=api_id)["item"]}
    found.expect(STAGE in stages, f"{region}: stage {STAGE}", f"stages {sorted(stages)}")
    resources = apigw.get_resources(restApiId=api_id, limit=500)["items"]
    methods = {
        (resource["path"], method)
        for resource in resources
        for method in resource.get("resourceMethods", {})
    }
    for route in contract.ROUTES:
        if not found.expect(
            (route.path, route.method) in methods,
            f"{region}: route {route.method} {route.path}",
            "missing from the deployed API",
        ):
            continue
        resource_id = next(r["id"] for r in resources if r["path"] == route.path)
        uri = apigw.get_integration(
            restApiId=api_id, resourceId=resource_id, httpMethod=route.method
        )["uri"]
        function = settings.names.function(route.function)
        found.expect(
            f":function:{function}:{ALIAS}/" in uri,
            f"{region}: {route.method} {route.path} invokes {function}:{ALIAS}",
            f"integration uri {uri}",
        )
    return api_id


def _check_routing(
    settings: Settings, client: ClientFactory, apis: dict[str, str], found: Findings
) -> None:
    route53 = client("route53", settings.primary_region)
    checks = route53.list_health_checks()["HealthChecks"]
    for region, api_id in apis.items():
        fqdn = f"{api_id}.execute-api.{region}.amazonaws.com"
        matching = [
            c for c in checks if c["HealthCheckConfig"].get("FullyQualifiedDomainName") == fqdn
        ]
        found.expect(
            len(matching) == 1
            and matching[0]["HealthCheckConfig"].get("ResourcePath") == f"/{STAGE}/health",
            f"health check on {fqdn}/{STAGE}/health",
            f"found {len(matching)}",
        )
    name = settings.names.api_domain
    if settings.routing.mode == "traffic-policy":
        instances = route53.list_traffic_policy_instances()["TrafficPolicyInstances"]
        found.expect(
            any(
                i["Name"].rstrip(".") == name and i["HostedZoneId"] == settings.hosted_zone_id
                for i in instances
            ),
            f"traffic policy instance {name}",
            f"instances {[i['Name'] for i in instances]}",
        )
        return
    records = route53.list_resource_record_sets(HostedZoneId=settings.hosted_zone_id)[
        "ResourceRecordSets"
    ]
    api_records = [r for r in records if r["Name"].rstrip(".") == name and r["Type"] == "A"]
    by_region = {r.get("SetIdentifier"): r for r in api_records}
    for region in settings.regions:
        record = by_region.get(region)
        if not found.expect(
            record is not None, f"{settings.routing.mode} A record {name} for {region}", "missing"
        ):
            continue
        assert record is not None
        if settings.routing.mode == "weighted-records":
            found.expect(
                record.get("Weight") == settings.weight(region),
                f"{name} {region} weight {settings.weight(region)}",
                f"got {record.get('Weight')}",
            )
        found.expect(
            bool(record.get("HealthCheckId")) and "AliasTarget" in record,
            f"{name} {region}: alias record with a health check",
            f"record {record}",
        )


def _check_api_keys(
    settings: Settings, client: ClientFactory, apis: dict[str, str], found: Findings
) -> None:
    """Per region and client: a usage plan on the region's stage with the settings'
    limits, and the client's keys attached to it; each key's value the same everywhere."""
    values: dict[str, set[str]] = {}
    for region, api_id in apis.items():
        apigw = client("apigateway", region)
        plans = {p["name"]: p for p in apigw.get_usage_plans(limit=500)["items"]}
        keys = {k["name"]: k for k in apigw.get_api_keys(includeValues=True, limit=500)["items"]}
        for name, limits in settings.api.api_key.clients.items():
            plan_name = settings.names.usage_plan(name)
            plan = plans.get(plan_name)
            if not found.expect(plan is not None, f"{region}: usage plan {plan_name}", "missing"):
                continue
            assert plan is not None
            stages = {(s.get("apiId"), s.get("stage")) for s in plan.get("apiStages", [])}
            found.expect(
                (api_id, STAGE) in stages,
                f"{region}: usage plan {plan_name} on stage {STAGE}",
                f"stages {sorted(stages)}",
            )
            throttle = plan.get("throttle", {})
            found.expect(
                throttle.get("rateLimit") == limits.rate_limit
                and throttle.get("burstLimit") == limits.burst_limit,
                f"{region}: usage plan {plan_name} rate {limits.rate_limit:g}/s, "
                f"burst {limits.burst_limit}",
                f"throttle {throttle}",
            )
            attached = {
                k["name"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
            }
            for label in limits.keys:
                key_name = settings.names.api_key(name, label)
                key = keys.get(key_name)
                if found.expect(
                    key is not None and key.get("enabled") is True,
                    f"{region}: API key {key_name} enabled",
                    "missing" if key is None else "disabled",
                ):
                    assert key is not None
                    values.setdefault(key_name, set()).add(str(key.get("value")))
                found.expect(
                    key_name in attached,
                    f"{region}: API key {key_name} in usage plan {plan_name}",
                    f"plan keys {sorted(attached)}",
                )
    for key_name, seen in sorted(values.items()):
        found.expect(
            len(seen) == 1 and len(next(iter(seen))) >= 20,
            f"API key {key_name}: one value in every region",
            f"{len(seen)} different values",
        )


def _check_alarms(
    settings: Settings, client: ClientFactory, keys: dict[str, str], found: Findings
) -> None:
    topics = [(region, settings.names.alarm_topic) for region in settings.regions]
    topics.append((settings.primary_region, f"{settings.names.alarm_topic}-route53"))
    for region, topic in topics:
        sns = client("sns", region)
        arn = f"arn:aws:sns:{region}:{_account(client)}:{topic}"
        try:
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        except sns.exceptions.NotFoundException:
            found.expect(False, f"SNS topic {topic} in {region}", "missing")
            continue
        key = attributes.get("KmsMasterKeyId", "")
        found.expect(
            key == keys.get(region),
            f"SNS topic {topic} in {region} encrypted with {region}'s data key",
            f"got {key or 'no key'}",
        )
    account = _account(client)
    primary_alarms = []
    for region in settings.regions:
        alarms = client("cloudwatch", region).describe_alarms(MaxRecords=100)["MetricAlarms"]
        if region == settings.primary_region:
            primary_alarms = alarms
        topic = f"arn:aws:sns:{region}:{account}:{settings.names.alarm_topic}"
        ours = [
            a
            for a in alarms
            if a["AlarmName"].startswith(f"{settings.app_name}-{region}-")
            and not a["AlarmName"].endswith(ROUTE53_ALARM_SUFFIX)
        ]
        wrong = [a["AlarmName"] for a in ours if topic not in a.get("AlarmActions", [])]
        found.expect(
            len(ours) > 0 and not wrong,
            f"{region}: {len(ours)} alarms notifying {settings.names.alarm_topic}",
            f"{len(ours)} alarms, not notifying it: {wrong}",
        )
    # Route 53 health-check metrics exist only in us-east-1: their alarms live there.
    topic = f"arn:aws:sns:{settings.primary_region}:{account}:{settings.names.alarm_topic}-route53"
    for region in settings.regions:
        name = f"{settings.app_name}-{region}{ROUTE53_ALARM_SUFFIX}"
        alarm = next((a for a in primary_alarms if a["AlarmName"] == name), None)
        found.expect(
            alarm is not None and topic in alarm.get("AlarmActions", []),
            f"health-check alarm {name} notifying {settings.names.alarm_topic}-route53",
            "missing" if alarm is None else f"actions {alarm.get('AlarmActions')}",
        )


def _account(client: ClientFactory) -> str:
    return str(client("sts").get_caller_identity()["Account"])
