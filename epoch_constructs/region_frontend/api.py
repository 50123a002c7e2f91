"""RegionApi: one region's REST API, its stage, logging and permission to call the aliases."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import Fn, ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.xray_sampling_rule import XraySamplingRule
from constructs import Construct

from epoch_blocks.tf_json import json_document
from epoch_constructs.iam import ApiGatewayLoggingRole
from epoch_constructs.region_frontend.openapi import ApiSecurity, api_definition, load_openapi
from epoch_settings import ApiSettings
from handlers import auth, contract

STAGE_NAME = "v1"
# Ahead of X-Ray's default rule (priority 10000); 1-9999 are for custom rules.
HEALTH_SAMPLING_PRIORITY = 100
# One JSON object per request in the access log.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "wafStatus": "$context.waf.status",
        "xrayTraceId": "$context.xrayTraceId",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)


def method_path(route: contract.Route) -> str:
    """A route as API Gateway's method settings name it: resource path without the
    leading slash, then the method (`EpochRegisterTime/POST`)."""
    return f"{route.path.removeprefix('/')}/{route.method}"


@dataclass(frozen=True)
class ApiProps:
    """What the REST API reads: the app and API names, the [api] settings and the log
    retention."""

    app: str
    api_name: str
    api: ApiSettings
    log_retention_days: int


class RegionApi(Construct):
    """Owns, in one region: the REST API from OpenAPI, its deployment and stage, and logging."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        region: str,
        props: ApiProps,
        aliases: Mapping[str, LambdaAlias],
        key_arn: str,
        logging_role: ApiGatewayLoggingRole,
        authorizer: LambdaAlias | None = None,
    ) -> None:
        super().__init__(scope, id_)
        api = props.api
        security = ApiSecurity(
            mode=api.auth,
            authorizer_uri=authorizer.invoke_arn if authorizer is not None else None,
            cache_seconds=api.jwt.cache_seconds,
        )
        definition = api_definition(
            load_openapi(),
            {function: alias.invoke_arn for function, alias in aliases.items()},
            security,
        )
        body = json_document(definition)
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest_api",
            provider=provider,
            name=props.api_name,
            description=f"{props.app} API ({region})",
            body=body,
            put_rest_api_mode="overwrite",
            # The body is derived without what REST API import does not support
            # (openapi.import_compatible), so a warning now means a contract change
            # brought in something new that API Gateway would silently drop: fail
            # the deploy and name it instead of serving a different API.
            fail_on_warnings=True,
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # Access and execution logging need the account-level role, once per region.
        account = ApiGatewayAccount(
            self,
            "account",
            provider=provider,
            cloudwatch_role_arn=logging_role.arn,
            depends_on=[logging_role.attachment],
        )
        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            provider=provider,
            rest_api_id=self.rest_api.id,
            # Redeploy whenever the definition changes (6.x deployments have no stage_name).
            # Hashing the attribute, not a literal, keeps the body out of an HCL expression.
            triggers={"definition": Fn.sha1(self.rest_api.body)},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        access_logs = CloudwatchLogGroup(
            self,
            "access_logs",
            provider=provider,
            name=f"/aws/apigateway/{props.api_name}/{STAGE_NAME}/access",
            retention_in_days=props.log_retention_days,
            kms_key_id=key_arn,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            provider=provider,
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=STAGE_NAME,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            depends_on=[account],
        )
        # API Gateway writes execution logs to this group, creating it unencrypted
        # and kept forever if it does not exist yet; create it first, with the
        # region's key and the retention from settings.
        execution_logs = CloudwatchLogGroup(
            self,
            "execution_logs",
            provider=provider,
            name=f"API-Gateway-Execution-Logs_{self.rest_api.id}/{STAGE_NAME}",
            retention_in_days=props.log_retention_days,
            kms_key_id=key_arn,
        )
        # API Gateway applies these throttling limits to each method on its own (not
        # one budget shared by the stage); a route's own entry replaces every field.
        route_throttles = {
            "method_settings": ("*/*", api.throttle_rate_limit, api.throttle_burst_limit),
            "register_method_settings": (
                method_path(contract.ROUTE_REGISTER),
                api.register_throttle_rate_limit,
                api.register_throttle_burst_limit,
            ),
        }
        # One at a time: each is an UpdateStage of the same stage.
        previous: ITerraformDependable = execution_logs
        for construct_id, (path, rate, burst) in route_throttles.items():
            previous = ApiGatewayMethodSettings(
                self,
                construct_id,
                provider=provider,
                rest_api_id=self.rest_api.id,
                stage_name=self.stage.stage_name,
                method_path=path,
                settings=ApiGatewayMethodSettingsSettings(
                    metrics_enabled=api.detailed_metrics_enabled,
                    logging_level="ERROR",
                    # Request/response bodies in logs would copy client data; keep them out.
                    data_trace_enabled=False,
                    throttling_rate_limit=rate,
                    throttling_burst_limit=burst,
                ),
                depends_on=[previous],
            )
        # Route 53's probes are most of an idle deployment's requests; X-Ray
        # records them at this rate instead of its default 1 per second + 5%.
        # The functions follow API Gateway's sampling decision.
        health_rate = api.health_trace_rate
        XraySamplingRule(
            self,
            "health_sampling",
            provider=provider,
            rule_name=f"{props.app}-health",
            priority=HEALTH_SAMPLING_PRIORITY,
            version=1,
            reservoir_size=0,
            fixed_rate=health_rate,
            service_type="AWS::ApiGateway::Stage",
            service_name=f"{props.api_name}/{STAGE_NAME}",
            host="*",
            http_method=contract.ROUTE_HEALTH.method,
            # The execute-api host sees /v1/health, the custom domain /health.
            url_path=f"*{contract.ROUTE_HEALTH.path}",
            resource_arn="*",
        )
        self.permissions: list[LambdaPermission] = []
        for function, alias in aliases.items():
            permission = LambdaPermission(
                self,
                f"{function}_invoke",
                provider=provider,
                # A generated id: the health checks' depends_on makes this
                # create-before-destroy, and a fixed id would collide with the old one.
                statement_id_prefix="AllowApiGatewayInvoke-",
                action="lambda:InvokeFunction",
                principal="apigateway.amazonaws.com",
                function_name=alias.function_name,
                # The permission must name the alias, or invoking the alias is denied.
                qualifier=alias.name,
                source_arn=f"{self.rest_api.execution_arn}/*/*",
            )
            self.permissions.append(permission)
        if authorizer is not None:
            self.permissions.append(
                LambdaPermission(
                    self,
                    f"{auth.AUTHORIZER_FUNCTION}_invoke",
                    provider=provider,
                    statement_id_prefix="AllowApiGatewayAuthorizer-",
                    action="lambda:InvokeFunction",
                    principal="apigateway.amazonaws.com",
                    function_name=authorizer.function_name,
                    qualifier=authorizer.name,
                    source_arn=f"{self.rest_api.execution_arn}/authorizers/*",
                )
            )
        self.name = props.api_name
        self.stage_name = STAGE_NAME
        # The region's own endpoint: health checks target it, not the shared name.
        self.execute_api_host = f"{self.rest_api.id}.execute-api.{region}.amazonaws.com"
        self.invoke_url = self.stage.invoke_url
        self.access_log_group_name = access_logs.name
