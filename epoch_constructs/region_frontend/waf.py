"""RegionFirewall: the WAFv2 web ACL in front of one region's API stage."""

from __future__ import annotations

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
from epoch_settings import Settings

# AWS managed rule groups, in evaluation order after the rate limit.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAnonymousIpList",
)
# Rules of those groups that only count: the anonymous-IP group's hosting-provider
# list covers AWS's own address ranges, which is where Route 53 health checkers
# (and clients running in the cloud) come from; blocking them would fail every
# region's health check at once.
COUNT_ONLY_RULES: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


class RegionFirewall(Construct):
    """Owns, in one region: the web ACL (per-IP rate limit + AWS managed rules) and its logs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        region: str,
        settings: Settings,
        stage_arn: str,
        key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        app = settings.names.app
        # `statement` is untyped in the bindings: its keys go to Terraform as written.
        rate_limit: dict[str, Any] = {
            "rate_based_statement": {
                "limit": settings.api.waf_rate_limit,
                "aggregate_key_type": "IP",
            }
        }
        rules: list[dict[str, Any]] = [
            {
                "name": "rate-limit-per-ip",
                "priority": 0,
                "action": {"block": {}},
                "statement": rate_limit,
                "visibility_config": _visibility(f"{app}-rate-limit"),
            }
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            managed: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
            if group in COUNT_ONLY_RULES:
                managed["rule_action_override"] = [
                    {"name": rule, "action_to_use": {"count": {}}}
                    for rule in COUNT_ONLY_RULES[group]
                ]
            rules.append(
                {
                    "name": group,
                    "priority": priority,
                    "override_action": {"none": {}},
                    "statement": {"managed_rule_group_statement": managed},
                    "visibility_config": _visibility(f"{app}-{group}"),
                }
            )
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
                metric_name=f"{app}-api",
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
            retention_in_days=settings.log_retention_days,
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
