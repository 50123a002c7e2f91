"""RegionFirewall: the WAFv2 web ACL in front of one region's API stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclRule,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
)
from constructs import Construct

from epoch_blocks.hcl_blocks import as_hcl_blocks, hcl_output
from epoch_settings import ApiSettings
from handlers import contract

# AWS managed rule groups, in evaluation order after the rate limits and size rule.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAnonymousIpList",
)
# First of all, when api.waf_ip_reputation_enabled: a source address on AWS's
# threat-intelligence lists is blocked before it counts against any rate limit.
IP_REPUTATION_GROUP = "AWSManagedRulesAmazonIpReputationList"
RATE_LIMIT_RULE = "rate-limit-per-ip"
REGISTER_RATE_LIMIT_RULE = "rate-limit-register-per-ip"
BODY_SIZE_RULE = "body-size-limit"

# Web ACL capacity units (WCU), from the AWS WAF developer guide: the managed
# groups' published capacities, and the costs of the statements written here.
# A web ACL holds 5,000 WCU; above 1,500 every request costs extra, so the ACL
# stays within WCU_PRICED_LIMIT (a test sums it for every settings variant).
WCU_PRICED_LIMIT = 1500
MANAGED_GROUP_WCU = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesAnonymousIpList": 50,
    IP_REPUTATION_GROUP: 25,
}
WCU_RATE_BASED = 2
WCU_SIZE_CONSTRAINT = 1
WCU_BYTE_MATCH = {"EXACTLY": 2, "STARTS_WITH": 2, "ENDS_WITH": 2, "CONTAINS": 10}
WCU_TEXT_TRANSFORMATION = 10
NO_TRANSFORMATION = [{"priority": 0, "type": "NONE"}]
# Rules of those groups that only count: the anonymous-IP group's hosting-provider
# list covers AWS's own address ranges, which is where Route 53 health checkers
# (and clients running in the cloud) come from; blocking them would fail every
# region's health check at once.
COUNT_ONLY_RULES: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}


def register_scope_down() -> dict[str, Any]:
    """POST requests whose (URL-decoded) path contains /EpochRegisterTime.

    `CONTAINS` also matches the execute-api host's /v1/EpochRegisterTime and a
    trailing slash; a path in other letter cases is no route of the API (404).
    """
    route = contract.ROUTE_REGISTER
    return {
        "and_statement": {
            "statement": [
                {
                    "byte_match_statement": {
                        "field_to_match": {"method": {}},
                        "positional_constraint": "EXACTLY",
                        "search_string": route.method,
                        "text_transformation": NO_TRANSFORMATION,
                    }
                },
                {
                    "byte_match_statement": {
                        "field_to_match": {"uri_path": {}},
                        "positional_constraint": "CONTAINS",
                        "search_string": route.path,
                        "text_transformation": [{"priority": 0, "type": "URL_DECODE"}],
                    }
                },
            ]
        }
    }


def statement_wcu(statement: dict[str, Any]) -> int:
    """The capacity a rule statement takes, for the statement kinds this ACL uses."""
    if "managed_rule_group_statement" in statement:
        return MANAGED_GROUP_WCU[statement["managed_rule_group_statement"]["name"]]
    if "rate_based_statement" in statement:
        scope_down = statement["rate_based_statement"].get("scope_down_statement")
        return WCU_RATE_BASED + (statement_wcu(scope_down) if scope_down else 0)
    if "and_statement" in statement:
        return sum(statement_wcu(s) for s in statement["and_statement"]["statement"])
    for kind, base in (
        ("byte_match_statement", None),
        ("size_constraint_statement", WCU_SIZE_CONSTRAINT),
    ):
        if kind in statement:
            inner = statement[kind]
            cost = base if base is not None else WCU_BYTE_MATCH[inner["positional_constraint"]]
            transforms = [t for t in inner["text_transformation"] if t["type"] != "NONE"]
            return cost + WCU_TEXT_TRANSFORMATION * len(transforms)
    raise ValueError(f"no WCU figure for statement {sorted(statement)}")


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


@dataclass(frozen=True)
class FirewallProps:
    """What the firewall reads: the app name, the [api] settings (its waf_* limits) and
    the log retention."""

    app: str
    api: ApiSettings
    log_retention_days: int


class RegionFirewall(Construct):
    """Owns, in one region: the web ACL (IP reputation, per-IP rate limits, body size, AWS
    managed rules) and its logs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        region: str,
        props: FirewallProps,
        stage_arn: str,
        key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        app = props.app
        api = props.api
        # `statement` is untyped in the bindings: its keys go to Terraform as written.
        # (name, metric suffix, statement, blocks: True for a rule, False for a group)
        plan: list[tuple[str, str, dict[str, Any], bool]] = []
        if api.waf_ip_reputation_enabled:
            plan.append(
                (
                    IP_REPUTATION_GROUP,
                    IP_REPUTATION_GROUP,
                    {
                        "managed_rule_group_statement": {
                            "name": IP_REPUTATION_GROUP,
                            "vendor_name": "AWS",
                        }
                    },
                    False,
                )
            )
        plan += [
            (
                REGISTER_RATE_LIMIT_RULE,
                "rate-limit-register",
                {
                    "rate_based_statement": {
                        "limit": api.waf_register_rate_limit,
                        "aggregate_key_type": "IP",
                        "scope_down_statement": register_scope_down(),
                    }
                },
                True,
            ),
            (
                RATE_LIMIT_RULE,
                "rate-limit",
                {"rate_based_statement": {"limit": api.waf_rate_limit, "aggregate_key_type": "IP"}},
                True,
            ),
            (
                BODY_SIZE_RULE,
                "body-size",
                {
                    "size_constraint_statement": {
                        # WAF inspects the first 8 KB of an API Gateway body; a larger
                        # one is too large anyway.
                        "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                        "comparison_operator": "GT",
                        "size": api.waf_max_body_bytes,
                        "text_transformation": NO_TRANSFORMATION,
                    }
                },
                True,
            ),
        ]
        for group in MANAGED_RULE_GROUPS:
            managed: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
            if group in COUNT_ONLY_RULES:
                managed["rule_action_override"] = [
                    {"name": rule, "action_to_use": {"count": {}}}
                    for rule in COUNT_ONLY_RULES[group]
                ]
            plan.append((group, group, {"managed_rule_group_statement": managed}, False))
        # The CloudWatch WebACL dimension of the ACL's metrics (AWS/WAFV2).
        self.metric_name = f"{app}-api"
        self.capacity = sum(statement_wcu(statement) for _, _, statement, _ in plan)
        rules: list[dict[str, Any]] = [
            {
                "name": name,
                "priority": priority,
                **({"action": {"block": {}}} if blocks else {"override_action": {"none": {}}}),
                "statement": statement,
                "visibility_config": _visibility(f"{app}-{metric}"),
            }
            for priority, (name, metric, statement, blocks) in enumerate(plan)
        ]
        hcl = hcl_output(self)
        acl = Wafv2WebAcl(
            self,
            "web_acl",
            provider=provider,
            name=f"{app}-api",
            # WAFv2 descriptions allow no parentheses (AWS pattern, tested).
            description=f"{app} API {region}",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow={}),
            rule=None if hcl else [Wafv2WebAclRule(**rule) for rule in rules],
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=self.metric_name,
                sampled_requests_enabled=True,
            ),
        )
        if hcl:
            # The untyped `statement` would be written as an argument (epoch_blocks.hcl_blocks).
            acl.add_override("rule", as_hcl_blocks({"rule": rules})["rule"])
        Wafv2WebAclAssociation(
            self, "stage", provider=provider, resource_arn=stage_arn, web_acl_arn=acl.arn
        )
        # WAF only logs to log groups whose name starts with "aws-waf-logs-".
        logs = CloudwatchLogGroup(
            self,
            "logs",
            provider=provider,
            name=f"aws-waf-logs-{app}-api",
            retention_in_days=props.log_retention_days,
            kms_key_id=key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            provider=provider,
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
        )
        self.arn = acl.arn
