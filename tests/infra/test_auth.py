"""Authentication in the synthesized stacks: nothing with `auth = "none"`; per region
a TOKEN authorizer (jwt) or usage plans and keys with one value everywhere (api_key);
the contract's JSON for every refusal."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from epoch_constructs.region_frontend.openapi import AUTH_GATEWAY_RESPONSES
from epoch_constructs.stack import STACK_NAME as ROOT
from handlers import auth
from tests.infra.conftest import Synthesized
from tests.infra.helpers import document_text


def bodies(app: Synthesized) -> dict[str, dict[str, Any]]:
    """Each region's REST API definition, by provider alias."""
    return {
        api["provider"]: json.loads(document_text(api["body"]))
        for api in app.resources(ROOT, "aws_api_gateway_rest_api").values()
    }


def test_no_authentication_resources_by_default(default_app: Synthesized) -> None:
    for body in bodies(default_app).values():
        assert "securitySchemes" not in body.get("components", {})
        assert not set(AUTH_GATEWAY_RESPONSES) & set(body["x-amazon-apigateway-gateway-responses"])
    for resource_type in (
        "aws_api_gateway_usage_plan",
        "aws_api_gateway_api_key",
        "aws_api_gateway_authorizer",
    ):
        assert default_app.resources(ROOT, resource_type) == {}
    for function in default_app.resources(ROOT, "aws_lambda_function").values():
        assert auth.ENV_AUTH_MODE not in function["environment"]["variables"]
        assert not function["function_name"].endswith(auth.AUTHORIZER_FUNCTION)


@pytest.fixture(scope="module")
def jwt_app(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["auth_jwt"]


@pytest.fixture(scope="module")
def key_app(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["auth_api_key"]


def _secured_operations(body: dict[str, Any]) -> dict[str, Any]:
    return {
        op["operationId"]: op
        for item in body["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def test_jwt_one_authorizer_per_region_called_by_that_regions_api(jwt_app: Synthesized) -> None:
    settings = jwt_app.settings
    functions = {
        f["provider"]: f
        for f in jwt_app.resources(ROOT, "aws_lambda_function").values()
        if f["function_name"] == settings.names.function(auth.AUTHORIZER_FUNCTION)
    }
    assert len(functions) == len(settings.regions)
    aliases = {
        alias["provider"]: name
        for name, alias in jwt_app.resources(ROOT, "aws_lambda_alias").items()
        if "authorizer" in name
    }
    for provider, function in functions.items():
        assert function["handler"] == auth.AUTHORIZER_HANDLER
        assert function["environment"]["variables"] == {
            auth.ENV_JWT_ISSUER: settings.api.jwt.issuer,
            auth.ENV_JWT_AUDIENCE: settings.api.jwt.audience,
        }
        scheme = bodies(jwt_app)[provider]["components"]["securitySchemes"]["bearerJwt"]
        authorizer = scheme["x-amazon-apigateway-authorizer"]
        assert scheme["x-amazon-apigateway-authtype"] == "custom"
        assert authorizer["type"] == "token"
        assert authorizer["authorizerResultTtlInSeconds"] == settings.api.jwt.cache_seconds
        assert (
            authorizer["authorizerUri"] == f"${{aws_lambda_alias.{aliases[provider]}.invoke_arn}}"
        )
    permissions = [
        p
        for p in jwt_app.resources(ROOT, "aws_lambda_permission").values()
        if p["source_arn"].endswith("/authorizers/*")
    ]
    assert len(permissions) == len(settings.regions)
    for function in jwt_app.resources(ROOT, "aws_lambda_function").values():
        if function["function_name"] != settings.names.function(auth.AUTHORIZER_FUNCTION):
            assert function["environment"]["variables"][auth.ENV_AUTH_MODE] == "jwt"


def test_jwt_authorizer_role_reads_no_table(jwt_app: Synthesized) -> None:
    documents = jwt_app.data_sources(ROOT, "aws_iam_policy_document")
    (access,) = [
        d for name, d in documents.items() if name.startswith("function_roles_authorizer_access")
    ]
    actions = {a for statement in access["statement"] for a in statement["actions"]}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }


@pytest.mark.parametrize("variant", ["auth_jwt", "auth_api_key"])
def test_secured_operations_and_contract_refusals(
    synthesized_apps: dict[str, Synthesized], variant: str
) -> None:
    app = synthesized_apps[variant]
    scheme = auth.SECURITY_SCHEME[app.settings.api.auth]
    for body in bodies(app).values():
        for operation_id, operation in _secured_operations(body).items():
            expected: list[dict[str, list[str]]] | None = (
                [{scheme: []}] if operation_id in auth.SECURED_OPERATIONS else None
            )
            assert operation.get("security") == expected
        responses = body["x-amazon-apigateway-gateway-responses"]
        for name, response in AUTH_GATEWAY_RESPONSES.items():
            assert responses[name] == response
            template = json.loads(
                re.sub(
                    r"\$context\.error\.messageString",
                    '"m"',
                    response["responseTemplates"]["application/json"],
                )
            )
            assert set(template) == {"error"}
        assert responses["UNAUTHORIZED"]["statusCode"] == "401"
        assert responses["INVALID_API_KEY"]["statusCode"] == "401"
        assert responses["ACCESS_DENIED"]["statusCode"] == "403"


def test_api_key_usage_plans_and_one_key_value_everywhere(key_app: Synthesized) -> None:
    settings = key_app.settings
    clients = settings.api.api_key.clients
    plans = key_app.resources(ROOT, "aws_api_gateway_usage_plan")
    assert len(plans) == len(clients) * len(settings.regions)
    for plan in plans.values():
        client = plan["name"].removeprefix(f"{settings.app_name}-")
        limits = clients[client]
        assert plan["throttle_settings"] == {
            "rate_limit": limits.rate_limit,
            "burst_limit": limits.burst_limit,
        }
        if limits.quota_limit:
            assert plan["quota_settings"] == {
                "limit": limits.quota_limit,
                "period": limits.quota_period,
            }
        else:
            assert "quota_settings" not in plan
    keys = key_app.resources(ROOT, "aws_api_gateway_api_key")
    labels = sum(len(c.keys) for c in clients.values())
    assert len(keys) == labels * len(settings.regions)
    primary_alias = f"aws.{settings.primary_region.replace('-', '_')}"
    by_name: dict[str, dict[str, Any]] = {}
    for name, key in keys.items():
        by_name.setdefault(key["name"], {})[key["provider"]] = (name, key)
    for per_region in by_name.values():
        primary_name, primary = per_region.pop(primary_alias)
        assert "value" not in primary
        for _name, key in per_region.values():
            assert key["value"] == f"${{aws_api_gateway_api_key.{primary_name}.value}}"
    attachments = key_app.resources(ROOT, "aws_api_gateway_usage_plan_key")
    assert len(attachments) == len(keys)
    output = key_app.stack(ROOT)["output"]["api_key_values"]
    assert output["sensitive"] is True
    for body in bodies(key_app).values():
        assert body["x-amazon-apigateway-api-key-source"] == "HEADER"
