"""RegionFrontend: everything one region serves, built with that region's provider."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from epoch_constructs.iam import ApiGatewayLoggingRole, FunctionRoles
from epoch_constructs.lambda_asset import LambdaAsset
from epoch_constructs.monitoring import MonitoringProps, RegionMonitoring
from epoch_constructs.region_frontend.api import ApiProps, RegionApi
from epoch_constructs.region_frontend.domain import RegionDomain
from epoch_constructs.region_frontend.functions import FunctionsProps, RegionFunctions
from epoch_constructs.region_frontend.waf import FirewallProps, RegionFirewall


@dataclass(frozen=True)
class FrontendProps:
    """What one region's frontend needs from the root stack."""

    region: str
    provider: AwsProvider
    functions: FunctionsProps
    api: ApiProps
    firewall: FirewallProps
    api_domain: str
    hosted_zone_id: str
    monitoring: MonitoringProps
    asset: LambdaAsset
    roles: FunctionRoles
    key_arn: str
    table_name: str
    logging_role: ApiGatewayLoggingRole
    # None for the first region, which creates the shared ACM validation record.
    validation_fqdn: str | None


class RegionFrontend(Construct):
    """Owns one region's functions, API, custom domain, firewall and monitoring."""

    def __init__(self, scope: Construct, id_: str, *, props: FrontendProps) -> None:
        super().__init__(scope, id_)
        p = props
        self.region = p.region
        self.functions = RegionFunctions(
            self,
            "functions",
            provider=p.provider,
            region=p.region,
            props=p.functions,
            asset=p.asset,
            roles=p.roles,
            key_arn=p.key_arn,
            table_name=p.table_name,
        )
        self.api = RegionApi(
            self,
            "api",
            provider=p.provider,
            region=p.region,
            props=p.api,
            aliases=self.functions.aliases,
            key_arn=p.key_arn,
            logging_role=p.logging_role,
            authorizer=self.functions.authorizer,
        )
        self.domain = RegionDomain(
            self,
            "domain",
            provider=p.provider,
            api_domain=p.api_domain,
            hosted_zone_id=p.hosted_zone_id,
            rest_api_id=self.api.rest_api.id,
            # The stage's attribute, not the constant: the mapping waits for the stage.
            stage_name=self.api.stage.stage_name,
            validation_fqdn=p.validation_fqdn,
        )
        self.firewall = RegionFirewall(
            self,
            "firewall",
            provider=p.provider,
            region=p.region,
            props=p.firewall,
            stage_arn=self.api.stage.arn,
            key_arn=p.key_arn,
        )
        self.monitoring = RegionMonitoring(
            self,
            "monitoring",
            provider=p.provider,
            region=p.region,
            props=p.monitoring,
            key_arn=p.key_arn,
            function_names=self.functions.names,
            api_name=self.api.name,
            stage_name=self.api.stage_name,
            table_name=p.table_name,
            access_log_group=self.api.access_log_group_name,
            web_acl_metric=self.firewall.metric_name,
        )

    @property
    def serving(self) -> list[ITerraformDependable]:
        """What must exist before GET /health can answer 200 through the custom domain.

        The region's table or replica is not here: the stack owns it and adds it.
        Not the WAF association either: the execute-api endpoint is public from the
        stage's creation anyway, and a dependency of the health checks becomes
        create-before-destroy, which a WAF association does not survive (the new
        association replaces the old, then deleting the old one detaches the ACL).
        """
        # With api.auth = "jwt" the authorizer too: the secured routes need it.
        authorizer = [self.functions.authorizer] if self.functions.authorizer else []
        return [
            *self.functions.aliases.values(),
            *authorizer,
            *self.functions.warm_pools,
            *self.api.permissions,
            self.domain.mapping,
        ]
