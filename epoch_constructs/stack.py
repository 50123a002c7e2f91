"""EpochRegisterStack: the root stack, wiring every regional and global part."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import Construct

from epoch_blocks.app_boundary import boundary_arn
from epoch_blocks.state_backend import s3_state_backend
from epoch_constructs.api_keys import ApiKeys, ApiKeysProps, ApiStage
from epoch_constructs.encryption import MultiRegionKey
from epoch_constructs.global_table import GlobalTable, TableProps
from epoch_constructs.iam import ApiGatewayLoggingRole, FunctionRoles, RolesProps
from epoch_constructs.lambda_asset import LambdaAsset
from epoch_constructs.monitoring import HealthCheckAlarms, MonitoringProps, MonthlyBudget
from epoch_constructs.providers import region_id, regional_providers
from epoch_constructs.region_frontend import FrontendProps, RegionFrontend
from epoch_constructs.region_frontend.api import ApiProps
from epoch_constructs.region_frontend.functions import ALIAS_NAME, FunctionsProps
from epoch_constructs.region_frontend.waf import FirewallProps
from epoch_constructs.routing import RegionEndpoint, Routing, RoutingProps
from epoch_settings import Settings
from handlers import auth

STACK_NAME = "epoch-register"
# Route 53 publishes health-check metrics only here, so their alarms live here too.
ROUTE53_METRICS_REGION = "us-east-1"


class EpochRegisterStack(TerraformStack):
    """Owns providers, data key, global table, IAM, routing and a RegionFrontend per region."""

    def __init__(self, scope: Construct, *, settings: Settings) -> None:
        super().__init__(scope, STACK_NAME)
        names = settings.names
        s3_state_backend(self, names, region=settings.primary_region, key=names.state_key)

        # The configured regions, plus us-east-1 for the health-check alarms if absent.
        key_regions = list(settings.regions)
        if ROUTE53_METRICS_REGION not in key_regions:
            key_regions.append(ROUTE53_METRICS_REGION)
        tags = {"app": settings.app_name, **settings.tags}
        providers = regional_providers(self, tags, key_regions)
        primary = providers[settings.primary_region]
        account_id = DataAwsCallerIdentity(self, "account", provider=primary).account_id

        # With a deploy role ([deploy]): its grants on the data key come from the key's
        # own policy, and every role here carries the bootstrap stack's boundary.
        deploying = settings.deploy.github_repository is not None
        deployer = f"arn:aws:iam::{account_id}:role/{names.deploy_role}" if deploying else None
        boundary = boundary_arn(names, account_id) if deploying else None
        key = MultiRegionKey(
            self,
            "data_key",
            providers=providers,
            regions=key_regions,
            account_id=account_id,
            deployer_arn=deployer,
            alias=names.data_key_alias,
            description=f"{names.app}: table, logs, environment and alarm topics",
        )
        table = GlobalTable(
            self,
            "global_table",
            props=TableProps(name=names.table, regions=settings.regions, table=settings.table),
            providers=providers,
            key_arns=key.arns,
        )
        roles = FunctionRoles(
            self,
            "function_roles",
            props=RolesProps(names=names, regions=settings.regions, auth_mode=settings.api.auth),
            provider=primary,
            account_id=account_id,
            key_arns=key.arns,
            permissions_boundary=boundary,
        )
        logging_role = ApiGatewayLoggingRole(
            self,
            "apigateway_logging",
            role_name=names.apigateway_logs_role,
            provider=primary,
            permissions_boundary=boundary,
        )
        asset = LambdaAsset(self, "lambda_asset")

        monitoring = MonitoringProps(
            names=names, regions=settings.regions, alarm_email=settings.alarm_email
        )
        frontends: dict[str, RegionFrontend] = {}
        validation_fqdn: str | None = None
        for region in settings.regions:
            frontend = RegionFrontend(
                self,
                f"frontend_{region_id(region)}",
                props=FrontendProps(
                    region=region,
                    provider=providers[region],
                    functions=functions_props(settings, region),
                    api=ApiProps(
                        app=names.app,
                        api_name=names.api,
                        api=settings.api,
                        log_retention_days=settings.log_retention_days,
                    ),
                    firewall=FirewallProps(
                        app=names.app,
                        api=settings.api,
                        log_retention_days=settings.log_retention_days,
                    ),
                    api_domain=names.api_domain,
                    hosted_zone_id=settings.hosted_zone_id,
                    monitoring=monitoring,
                    asset=asset,
                    roles=roles,
                    key_arn=key.arns[region],
                    table_name=table.name,
                    logging_role=logging_role,
                    validation_fqdn=validation_fqdn,
                ),
            )
            validation_fqdn = frontend.domain.validation_fqdn
            frontends[region] = frontend

        if settings.api.auth == auth.AUTH_API_KEY:
            ApiKeys(
                self,
                "api_keys",
                props=ApiKeysProps(
                    names=names, regions=settings.regions, clients=settings.api.api_key.clients
                ),
                providers=providers,
                stages={
                    region: ApiStage(f.api.rest_api.id, f.api.stage.stage_name)
                    for region, f in frontends.items()
                },
            )

        routing = Routing(
            self,
            "routing",
            props=RoutingProps(
                names=names,
                hosted_zone_id=settings.hosted_zone_id,
                regions=settings.regions,
                weights={region: settings.weight(region) for region in settings.regions},
                routing=settings.routing,
            ),
            provider=providers[ROUTE53_METRICS_REGION],
            endpoints={
                region: RegionEndpoint(
                    region=region,
                    execute_api_host=f.api.execute_api_host,
                    stage_name=f.api.stage_name,
                    target_domain_name=f.domain.target_domain_name,
                    target_zone_id=f.domain.target_zone_id,
                    serving=[table.data_in(region), *f.serving],
                )
                for region, f in frontends.items()
            },
        )
        health_alarms = HealthCheckAlarms(
            self,
            "health_check_alarms",
            provider=providers[ROUTE53_METRICS_REGION],
            props=monitoring,
            key_arn=key.arns[ROUTE53_METRICS_REGION],
            health_check_ids=routing.health_check_ids,
        )
        if settings.budget.monthly_usd > 0:
            # Budgets are global: one for the account, through the primary region.
            MonthlyBudget(
                self, "budget", provider=primary, props=monitoring, budget=settings.budget
            )

        TerraformOutput(
            self,
            "api_url",
            value=f"https://{names.api_domain}",
            description="The API's public URL (all regions)",
        )
        TerraformOutput(
            self, "dynamodb_table_name", value=table.name, description="Global table name"
        )
        TerraformOutput(
            self,
            "dynamodb_table_arn",
            value=table.arn,
            description="Global table ARN (primary region)",
        )
        TerraformOutput(
            self,
            "route53_health_alarm_topic_arn",
            value=health_alarms.topic.arn,
            description="SNS topic (us-east-1) notified when a region's health check fails",
        )
        for region, frontend in frontends.items():
            rid = region_id(region)
            TerraformOutput(
                self,
                f"{rid}_endpoint",
                value=frontend.api.invoke_url,
                description=f"{region}: the region's own API endpoint (bypasses Route 53)",
            )
            TerraformOutput(
                self,
                f"{rid}_health_check_id",
                value=routing.health_check_ids[region],
                description=f"{region}: Route 53 health check id",
            )
            TerraformOutput(
                self,
                f"{rid}_alarm_topic_arn",
                value=frontend.monitoring.topic.arn,
                description=f"{region}: SNS topic for the region's alarms",
            )
        if settings.rollout.mode == "canary":
            rollout_outputs(self, settings, frontends)


def functions_props(settings: Settings, region: str) -> FunctionsProps:
    """What one region's functions read from the settings."""
    return FunctionsProps(
        names=settings.names,
        functions=settings.functions,
        auth_mode=settings.api.auth,
        jwt=settings.api.jwt,
        log_retention_days=settings.log_retention_days,
        list_shards=settings.table.list_shards,
        retention_days=settings.table.retention_days,
        canary=settings.rollout.mode == "canary",
        force_unhealthy=region in settings.routing.drill_regions,
    )


def rollout_outputs(
    stack: TerraformStack, settings: Settings, frontends: dict[str, RegionFrontend]
) -> None:
    """What `pipenv run rollout` reads: its settings, and per region what it moves and watches."""
    rollout = settings.rollout
    TerraformOutput(
        stack,
        "rollout_settings",
        value={
            "mode": rollout.mode,
            "region_order": list(settings.rollout_order),
            "shares": list(rollout.shares()),
            "bake_seconds": rollout.bake_seconds,
            "gate_alarms": list(rollout.gate_alarms),
        },
        description="Canary rollout: region order, traffic share per step, bake time, gates",
    )
    for region, frontend in frontends.items():
        functions = frontend.functions
        alarms = frontend.monitoring.alarm_names
        TerraformOutput(
            stack,
            f"{region_id(region)}_rollout",
            value={
                "region": region,
                "endpoint": frontend.api.invoke_url,
                "alias": ALIAS_NAME,
                "functions": {
                    logical: {"name": name, "version": functions.versions[logical]}
                    for logical, name in functions.names.items()
                },
                "alarms": [name for kind in rollout.gate_alarms for name in alarms.get(kind, [])],
            },
            description=f"{region}: functions, newest versions, alias, gating alarms, endpoint",
        )
