"""RegionFrontend wiring that breaks deployments silently when wrong."""

from __future__ import annotations

import json
import re

import pytest
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.api_gateway_domain_name import ApiGatewayDomainName
from cdktf_cdktf_provider_aws.api_gateway_method_settings import ApiGatewayMethodSettings
from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import (
    LambdaProvisionedConcurrencyConfig,
)
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.xray_sampling_rule import XraySamplingRule

from handlers import auth, contract
from tests.infra.conftest import Synthesized
from tests.infra.helpers import document_text, references, region_of, resources

ALIAS = LambdaAlias.TF_RESOURCE_TYPE


def test_api_invokes_each_functions_alias_not_the_function(default_app: Synthesized) -> None:
    aliases = resources(default_app, ALIAS)
    for api in resources(default_app, ApiGatewayRestApi.TF_RESOURCE_TYPE).values():
        body = api["body"]
        invoked = references(body, ALIAS, "invoke_arn")
        assert {aliases[a]["provider"] for a in invoked} == {api["provider"]}
        assert len(invoked) == len(contract.FUNCTION_HANDLERS)
        assert not references(body, LambdaFunction.TF_RESOURCE_TYPE, "invoke_arn")
        assert "x-amazon-apigateway-request-validator" in body
        for route in contract.ROUTES:
            assert route.operation_id in body


def test_gateway_responses_are_json_in_the_error_shape(default_app: Synthesized) -> None:
    for api in resources(default_app, ApiGatewayRestApi.TF_RESOURCE_TYPE).values():
        # The body is a JSON template: JSON once the alias references are filled in.
        definition = json.loads(document_text(api["body"]))
        responses = definition["x-amazon-apigateway-gateway-responses"]
        assert {"DEFAULT_4XX", "DEFAULT_5XX", "BAD_REQUEST_PARAMETERS"} <= set(responses)
        for kind, response in responses.items():
            # API Gateway takes the status as a string of three digits.
            assert isinstance(response.get("statusCode", "400"), str), kind
            template = response["responseTemplates"]["application/json"]
            # The only variable allowed is the pre-quoted, pre-escaped message.
            example = template.replace("$context.error.messageString", json.dumps('a "b" c'))
            assert "$" not in example, kind
            error = json.loads(example)["error"]
            assert error["code"] in contract.ERROR_CODES, kind
            assert isinstance(error["message"], str), kind


def test_permissions_name_the_alias_qualifier(default_app: Synthesized) -> None:
    permissions = resources(default_app, LambdaPermission.TF_RESOURCE_TYPE).values()
    assert len(permissions) == len(contract.FUNCTION_HANDLERS) * len(default_app.settings.regions)
    for permission in permissions:
        (alias,) = references(permission["qualifier"], ALIAS, "name")
        assert references(permission["function_name"], ALIAS, "function_name") == {alias}
        assert permission["principal"] == "apigateway.amazonaws.com"


def test_provisioned_concurrency_is_on_the_alias(synthesized_apps: dict[str, Synthesized]) -> None:
    app = synthesized_apps["default"]
    warm = resources(app, LambdaProvisionedConcurrencyConfig.TF_RESOURCE_TYPE).values()
    assert len(warm) == len(contract.FUNCTION_HANDLERS) * len(app.settings.regions)
    for config in warm:
        assert references(config["qualifier"], ALIAS, "name")
        assert (
            config["provisioned_concurrent_executions"]
            == app.settings.functions.provisioned_concurrency
        )


def test_aliases_point_at_published_versions(default_app: Synthesized) -> None:
    functions = resources(default_app, LambdaFunction.TF_RESOURCE_TYPE)
    assert all(f["publish"] is True for f in functions.values())
    for alias in resources(default_app, ALIAS).values():
        assert references(alias["function_version"], LambdaFunction.TF_RESOURCE_TYPE, "version")


def test_functions_settings(default_app: Synthesized) -> None:
    lambda_settings = default_app.settings.functions
    for function in resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values():
        assert function["runtime"] == "python3.13"
        assert function["architectures"] == [lambda_settings.architecture]
        assert function["memory_size"] == lambda_settings.memory_mb
        assert function["timeout"] == lambda_settings.timeout_seconds
        assert function["tracing_config"] == {"mode": "Active"}
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["handler"] in contract.FUNCTION_HANDLERS.values()
        variables = function["environment"]["variables"]
        assert variables[contract.ENV_TABLE_NAME] == default_app.settings.names.table
        assert variables[contract.ENV_FORCE_UNHEALTHY] == "false"


def test_functions_know_the_list_shard_count(synthesized_apps: dict[str, Synthesized]) -> None:
    for app in synthesized_apps.values():
        for function in resources(app, LambdaFunction.TF_RESOURCE_TYPE).values():
            if function["handler"] == auth.AUTHORIZER_HANDLER:
                continue  # api.auth = "jwt": reads no table
            shards = function["environment"]["variables"][contract.ENV_LIST_SHARDS]
            assert shards == str(app.settings.table.list_shards), app.name


def test_drill_region_forces_health_503(synthesized_apps: dict[str, Synthesized]) -> None:
    app = synthesized_apps["latency_on_demand_eu"]
    for function in resources(app, LambdaFunction.TF_RESOURCE_TYPE).values():
        forced = function["environment"]["variables"][contract.ENV_FORCE_UNHEALTHY]
        assert forced == ("true" if region_of(function) == "eu-central-1" else "false")


def test_every_log_group_is_encrypted_with_retention(default_app: Synthesized) -> None:
    groups = resources(default_app, CloudwatchLogGroup.TF_RESOURCE_TYPE).values()
    assert groups
    for group in groups:
        assert group["retention_in_days"] == default_app.settings.log_retention_days
        assert group["kms_key_id"].startswith("${aws_kms_")


def test_execution_logs_group_exists_before_logging_is_switched_on(
    default_app: Synthesized,
) -> None:
    groups = resources(default_app, CloudwatchLogGroup.TF_RESOURCE_TYPE)
    apis = resources(default_app, ApiGatewayRestApi.TF_RESOURCE_TYPE)
    every_settings = resources(default_app, ApiGatewayMethodSettings.TF_RESOURCE_TYPE)
    # The stage's own (*/*) settings switch logging on; a route's own come after them.
    settings = {k: v for k, v in every_settings.items() if v["method_path"] == "*/*"}
    assert len(settings) == len(apis) == len(default_app.settings.regions)
    for name, route in every_settings.items():
        if name not in settings:
            assert [d.split(".")[1] for d in route["depends_on"]] == [
                other
                for other, stage_wide in settings.items()
                if stage_wide["stage_name"] == route["stage_name"]
            ]
    for method_settings in settings.values():
        (api,) = references(
            method_settings["rest_api_id"], ApiGatewayRestApi.TF_RESOURCE_TYPE, "id"
        )
        expected = (
            f"API-Gateway-Execution-Logs_${{{ApiGatewayRestApi.TF_RESOURCE_TYPE}.{api}.id}}/v1"
        )
        (group,) = [
            f"{CloudwatchLogGroup.TF_RESOURCE_TYPE}.{name}"
            for name, g in groups.items()
            if g["name"] == expected
        ]
        assert region_of(groups[group.split(".")[1]]) == region_of(method_settings)
        assert group in method_settings["depends_on"]


def test_stage_logs_traces_and_is_behind_waf(default_app: Synthesized) -> None:
    stages = resources(default_app, ApiGatewayStage.TF_RESOURCE_TYPE)
    associations = resources(default_app, Wafv2WebAclAssociation.TF_RESOURCE_TYPE).values()
    assert len(stages) == len(default_app.settings.regions)
    protected = {
        next(iter(references(a["resource_arn"], ApiGatewayStage.TF_RESOURCE_TYPE, "arn")))
        for a in associations
    }
    assert protected == set(stages)
    for stage in stages.values():
        assert stage["xray_tracing_enabled"] is True
        assert '"requestId":"$context.requestId"' in stage["access_log_settings"]["format"]


def test_waf_has_rate_limit_and_managed_rules(default_app: Synthesized) -> None:
    for acl in resources(default_app, Wafv2WebAcl.TF_RESOURCE_TYPE).values():
        names = [rule["name"] for rule in acl["rule"]]
        (rate,) = [r for r in acl["rule"] if r["name"] == "rate-limit-per-ip"]
        assert rate["statement"] == {
            "rate_based_statement": {
                "limit": default_app.settings.api.waf_rate_limit,
                "aggregate_key_type": "IP",
            }
        }
        assert {
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAnonymousIpList",
        } <= set(names)


# The patterns WAFv2 applies at the API (CreateWebACL reference); a mismatch
# only shows at apply time, so check every synthesized app here.
_WAF_NAME = re.compile(r"^[\w\-]{1,128}$")
_WAF_DESCRIPTION = re.compile(r"^[\w+=:#@/\-,\.][\w+=:#@/\-,\.\s]+[\w+=:#@/\-,\.]$")
_WAF_METRIC = re.compile(r"^[\w#:\.\-/]{1,255}$")


def test_waf_names_descriptions_and_metrics_match_the_aws_patterns(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        for acl in resources(app, Wafv2WebAcl.TF_RESOURCE_TYPE).values():
            assert _WAF_NAME.match(acl["name"]), acl["name"]
            assert len(acl["description"]) <= 256
            assert _WAF_DESCRIPTION.match(acl["description"]), acl["description"]
            metrics = [acl["visibility_config"]["metric_name"]]
            for rule in acl["rule"]:
                assert _WAF_NAME.match(rule["name"]), rule["name"]
                metrics.append(rule["visibility_config"]["metric_name"])
            for metric in metrics:
                assert _WAF_METRIC.match(metric), metric


def test_route53_health_checkers_are_not_blocked_as_hosting_providers(
    default_app: Synthesized,
) -> None:
    for acl in resources(default_app, Wafv2WebAcl.TF_RESOURCE_TYPE).values():
        (anonymous,) = [r for r in acl["rule"] if r["name"] == "AWSManagedRulesAnonymousIpList"]
        overrides = anonymous["statement"]["managed_rule_group_statement"]["rule_action_override"]
        assert overrides == [{"name": "HostingProviderIPList", "action_to_use": {"count": {}}}]


def test_custom_domain_is_regional_tls12(default_app: Synthesized) -> None:
    domains = resources(default_app, ApiGatewayDomainName.TF_RESOURCE_TYPE).values()
    assert sorted(region_of(d) for d in domains) == sorted(default_app.settings.regions)
    for domain in domains:
        assert domain["domain_name"] == default_app.settings.names.api_domain
        assert domain["security_policy"] == "TLS_1_2"
        assert domain["endpoint_configuration"]["types"] == ["REGIONAL"]


def test_one_acm_validation_record_serves_every_region(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        records = resources(app, Route53Record.TF_RESOURCE_TYPE)
        validation = [name for name in records if "validation_record" in name]
        assert len(validation) == 1, app.name
        validations = resources(app, AcmCertificateValidation.TF_RESOURCE_TYPE).values()
        assert len(validations) == len(app.settings.regions)
        for item in validations:
            assert references(
                item["validation_record_fqdns"][0], Route53Record.TF_RESOURCE_TYPE, "fqdn"
            ) == set(validation)


def test_resources_wait_for_what_they_need_at_create_time(default_app: Synthesized) -> None:
    # Orderings Terraform cannot infer from references, and AWS checks at create time.
    stages = resources(default_app, ApiGatewayStage.TF_RESOURCE_TYPE)
    for mapping in resources(default_app, ApiGatewayBasePathMapping.TF_RESOURCE_TYPE).values():
        (stage,) = references(mapping["stage_name"], ApiGatewayStage.TF_RESOURCE_TYPE, "stage_name")
        assert region_of(stages[stage]) == region_of(mapping)
    (attachment,) = resources(default_app, IamRolePolicyAttachment.TF_RESOURCE_TYPE)
    accounts = resources(default_app, ApiGatewayAccount.TF_RESOURCE_TYPE).values()
    assert len(accounts) == len(default_app.settings.regions)
    for account in accounts:
        assert f"{IamRolePolicyAttachment.TF_RESOURCE_TYPE}.{attachment}" in account["depends_on"]
    policies = resources(default_app, IamRolePolicy.TF_RESOURCE_TYPE)
    for function in resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values():
        (policy,) = [d for d in function["depends_on"] if d.startswith("aws_iam_role_policy.")]
        (role,) = references(function["role"], "aws_iam_role", "arn")
        assert references(policies[policy.split(".")[1]]["role"], "aws_iam_role", "id") == {role}


def test_api_import_fails_on_warnings_and_gets_the_derived_body(
    default_app: Synthesized,
) -> None:
    # A warning would mean part of the contract is silently dropped by API Gateway.
    for api in resources(default_app, ApiGatewayRestApi.TF_RESOURCE_TYPE).values():
        assert api["fail_on_warnings"] is True
        definition = json.loads(document_text(api["body"]))
        assert set(definition["components"]) == {"schemas"}
        text = api["body"]
        for keyword in ('"nullable"', '"default"', "#/components/responses/", "REQUEST_TOO_LARGE"):
            assert keyword not in text, keyword


def test_cost_settings_reach_tracing_and_logs(synthesized_apps: dict[str, Synthesized]) -> None:
    seen = set()
    for app in synthesized_apps.values():
        settings = app.settings
        regions = set(settings.regions)
        rules = resources(app, XraySamplingRule.TF_RESOURCE_TYPE).values()
        assert {region_of(r) for r in rules} == regions
        for rule in rules:
            assert rule["fixed_rate"] == settings.api.health_trace_rate
            assert rule["reservoir_size"] == 0
            assert rule["url_path"] == f"*{contract.ROUTE_HEALTH.path}"
            assert rule["http_method"] == "GET"
            assert rule["service_name"] == f"{settings.names.api}/v1"
            assert rule["priority"] < 10000  # ahead of X-Ray's default rule
            assert len(rule["rule_name"]) <= 32
        for name, function in resources(app, LambdaFunction.TF_RESOURCE_TYPE).items():
            level = function["logging_config"].get("system_log_level")
            if function["handler"] == contract.FUNCTION_HANDLERS[contract.ROUTE_HEALTH.function]:
                assert level == settings.functions.health_system_log_level, name
            else:
                assert level is None, name
        seen.add((settings.api.health_trace_rate, settings.functions.health_system_log_level))
    assert {(0.0, "WARN"), (0.05, "INFO")} <= seen


def method_metrics(app: Synthesized) -> list[bool]:
    method_settings = resources(app, ApiGatewayMethodSettings.TF_RESOURCE_TYPE).values()
    assert {region_of(m) for m in method_settings} == set(app.settings.regions)
    return [m["settings"]["metrics_enabled"] for m in method_settings]


def test_detailed_metrics_follow_the_setting(
    default_app: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from epoch_app.app import synth_to

    assert default_app.settings.api.detailed_metrics_enabled is True
    assert method_metrics(default_app) == [True] * 4
    settings = default_app.settings
    off = settings.model_copy(
        update={"api": settings.api.model_copy(update={"detailed_metrics_enabled": False})}
    )
    outdir = tmp_path_factory.mktemp("metrics_off") / "cdktf.out"
    synth_to(off, outdir)
    app = Synthesized(name="metrics_off", settings=off, outdir=outdir)
    assert method_metrics(app) == [False] * 4


def test_invoke_permissions_survive_create_before_destroy(default_app: Synthesized) -> None:
    # The health checks are create-before-destroy and depend on these permissions,
    # which Terraform then replaces new-first: a fixed statement id would collide.
    permissions = resources(default_app, LambdaPermission.TF_RESOURCE_TYPE).values()
    assert permissions
    for permission in permissions:
        assert "statement_id" not in permission
        assert permission["statement_id_prefix"]
