"""RegionFunctions: one region's functions (contract.FUNCTION_HANDLERS), warm behind aliases."""

from __future__ import annotations

from dataclasses import dataclass

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
from epoch_settings import JwtSettings, LambdaSettings, Names
from handlers import auth, contract

RUNTIME = "python3.13"
ALIAS_NAME = "live"


@dataclass(frozen=True)
class FunctionsProps:
    """What one region's functions read from the settings."""

    names: Names
    # [lambda]: size, architecture, timeout, concurrency, the health function's log level.
    functions: LambdaSettings
    auth_mode: str
    jwt: JwtSettings
    log_retention_days: int
    list_shards: int
    retention_days: int
    # rollout.mode = "canary": the rollout, not Terraform, moves the aliases.
    canary: bool
    # The region is in routing.drill_regions: GET /health answers 503.
    force_unhealthy: bool


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
        props: FunctionsProps,
        asset: LambdaAsset,
        roles: FunctionRoles,
        key_arn: str,
        table_name: str,
    ) -> None:
        super().__init__(scope, id_)
        names = props.names
        lambda_settings = props.functions
        self.names: dict[str, str] = {}
        self.aliases: dict[str, LambdaAlias] = {}
        # The newest published version of each function (what a canary rollout moves to).
        self.versions: dict[str, str] = {}
        canary: dict[str, TerraformResourceLifecycle] = {}
        if props.canary:
            # `pipenv run rollout` moves the alias region by region (weighted routing,
            # then the new version) and records the version it served before in the
            # description: Terraform creates the alias, then leaves those three alone,
            # so an apply publishes new versions without moving traffic to them.
            canary["lifecycle"] = TerraformResourceLifecycle(
                ignore_changes=["function_version", "routing_config", "description"]
            )
        self.warm_pools: list[LambdaProvisionedConcurrencyConfig] = []
        # auth = "jwt": the TOKEN authorizer (not warm: API Gateway caches its answers).
        self.authorizer: LambdaAlias | None = None
        auth_mode = props.auth_mode
        handlers = dict(contract.FUNCTION_HANDLERS)
        if auth_mode == auth.AUTH_JWT:
            handlers[auth.AUTHORIZER_FUNCTION] = auth.AUTHORIZER_HANDLER
        for function, handler in handlers.items():
            is_authorizer = function == auth.AUTHORIZER_FUNCTION
            variables = {
                contract.ENV_TABLE_NAME: table_name,
                contract.ENV_FORCE_UNHEALTHY: "true" if props.force_unhealthy else "false",
                contract.ENV_LIST_SHARDS: str(props.list_shards),
            }
            if auth_mode != auth.AUTH_NONE:
                variables[auth.ENV_AUTH_MODE] = auth_mode
            if props.retention_days > 0:
                variables[contract.ENV_RETENTION_DAYS] = str(props.retention_days)
            if is_authorizer:
                jwt = props.jwt
                variables = {
                    auth.ENV_JWT_ISSUER: str(jwt.issuer),
                    auth.ENV_JWT_AUDIENCE: str(jwt.audience),
                    **({auth.ENV_JWKS_URL: jwt.jwks_url} if jwt.jwks_url else {}),
                }
            log_group = CloudwatchLogGroup(
                self,
                f"{function}_logs",
                provider=provider,
                name=names.log_group(function),
                retention_in_days=props.log_retention_days,
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
                environment=LambdaFunctionEnvironment(variables=variables),
                # 0 in the settings means unreserved: Lambda's own 0 would stop the function.
                # The authorizer is not counted in the reservation check: never reserved.
                reserved_concurrent_executions=(
                    None if is_authorizer else lambda_settings.reserved_concurrency or None
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
            if is_authorizer:
                self.authorizer = alias
                continue
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
