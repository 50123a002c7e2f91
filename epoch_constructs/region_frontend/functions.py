"""RegionFunctions: the three Lambda functions of one region, warm behind aliases."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import (
    LambdaProvisionedConcurrencyConfig,
)
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from epoch_constructs.iam import FunctionRoles
from epoch_constructs.lambda_asset import LambdaAsset
from epoch_settings import Settings
from handlers import contract

RUNTIME = "python3.13"
ALIAS_NAME = "live"


class RegionFunctions(Construct):
    """Owns, in one region: each function, its log group, published version, alias and warm pool.

    API Gateway invokes the alias, never $LATEST: provisioned concurrency is
    attached to the alias and would be bypassed otherwise.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        region: str,
        settings: Settings,
        asset: LambdaAsset,
        roles: FunctionRoles,
        key_arn: str,
        table_name: str,
    ) -> None:
        super().__init__(scope, id_)
        names = settings.names
        lambda_settings = settings.functions
        drill = region in settings.routing.drill_regions
        self.names: dict[str, str] = {}
        self.aliases: dict[str, LambdaAlias] = {}
        # The newest published version of each function (what a canary rollout moves to).
        self.versions: dict[str, str] = {}
        canary: dict[str, TerraformResourceLifecycle] = {}
        if settings.rollout.mode == "canary":
            # `pipenv run rollout` moves the alias region by region (weighted routing,
            # then the new version) and records the version it served before in the
            # description: Terraform creates the alias, then leaves those three alone,
            # so an apply publishes new versions without moving traffic to them.
            canary["lifecycle"] = TerraformResourceLifecycle(
                ignore_changes=["function_version", "routing_config", "description"]
            )
        self.warm_pools: list[LambdaProvisionedConcurrencyConfig] = []
        for function, handler in contract.FUNCTION_HANDLERS.items():
            log_group = CloudwatchLogGroup(
                self,
                f"{function}_logs",
                provider=provider,
                name=names.log_group(function),
                retention_in_days=settings.log_retention_days,
                kms_key_id=key_arn,
            )
            fn = LambdaFunction(
                self,
                function,
                provider=provider,
                function_name=names.function(function),
                description=f"{names.app} {function} ({region})",
                role=roles.arns[function],
                runtime=RUNTIME,
                architectures=[lambda_settings.architecture],
                handler=handler,
                filename=asset.path,
                source_code_hash=asset.source_code_hash,
                memory_size=lambda_settings.memory_mb,
                timeout=lambda_settings.timeout_seconds,
                publish=True,
                kms_key_arn=key_arn,
                tracing_config=LambdaFunctionTracingConfig(mode="Active"),
                logging_config=LambdaFunctionLoggingConfig(
                    log_format="JSON",
                    log_group=log_group.name,
                    system_log_level=(
                        lambda_settings.health_system_log_level
                        if function == contract.ROUTE_HEALTH.function
                        else None
                    ),
                ),
                environment=LambdaFunctionEnvironment(
                    variables={
                        contract.ENV_TABLE_NAME: table_name,
                        contract.ENV_FORCE_UNHEALTHY: "true" if drill else "false",
                        contract.ENV_LIST_SHARDS: str(settings.table.list_shards),
                    }
                ),
                depends_on=[log_group, roles.policies[function]],
            )
            alias = LambdaAlias(
                self,
                f"{function}_alias",
                provider=provider,
                name=ALIAS_NAME,
                function_name=fn.function_name,
                function_version=fn.version,
                **canary,
            )
            if lambda_settings.provisioned_concurrency > 0:
                warm = LambdaProvisionedConcurrencyConfig(
                    self,
                    f"{function}_warm",
                    provider=provider,
                    function_name=alias.function_name,
                    qualifier=alias.name,
                    provisioned_concurrent_executions=lambda_settings.provisioned_concurrency,
                )
                self.warm_pools.append(warm)
            self.names[function] = names.function(function)
            self.aliases[function] = alias
            self.versions[function] = fn.version
