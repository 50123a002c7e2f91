"""Turn the service's OpenAPI document into the API Gateway definition for one region.

The document (handlers/openapi.json) is the one contract the handlers, local
mode and this infrastructure share; only the `x-amazon-apigateway-*`
extensions are added here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from handlers import contract

OPENAPI_PATH = Path(contract.__file__).resolve().parent / contract.OPENAPI_FILENAME
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
VALIDATOR = "params"


class ContractMismatchError(ValueError):
    """handlers/openapi.json and handlers/contract.py disagree (a user-fixable error)."""


def load_openapi(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ContractMismatchError(f"{path}: cannot read the OpenAPI document: {err}") from None
    return document


def _error_template(code: str, message: str) -> dict[str, str]:
    # `message` is JSON: a literal, or $context.error.messageString, which API
    # Gateway substitutes already quoted and escaped (unlike .message and
    # .validationErrorString, which are raw text).
    return {"application/json": f'{{"error":{{"code":"{code}","message":{message}}}}}'}


# API Gateway's own answers, in the service's error shape ({"error": {code, message}}).
GATEWAY_RESPONSES: dict[str, dict[str, Any]] = {
    "DEFAULT_4XX": {
        "responseTemplates": _error_template(
            contract.ERROR_BAD_REQUEST, "$context.error.messageString"
        )
    },
    "DEFAULT_5XX": {
        "responseTemplates": _error_template(
            contract.ERROR_UNAVAILABLE, "$context.error.messageString"
        )
    },
    # API Gateway's answer for an unknown path is a misleading 403 "Missing Authentication Token".
    "MISSING_AUTHENTICATION_TOKEN": {
        "statusCode": "404",
        "responseTemplates": _error_template(contract.ERROR_NOT_FOUND, '"No such route."'),
    },
    "BAD_REQUEST_PARAMETERS": {
        "statusCode": "400",
        "responseTemplates": _error_template(
            contract.ERROR_INVALID_REQUEST, "$context.error.messageString"
        ),
    },
    "BAD_REQUEST_BODY": {
        "statusCode": "400",
        "responseTemplates": _error_template(
            contract.ERROR_INVALID_REQUEST, "$context.error.messageString"
        ),
    },
    "REQUEST_TOO_LARGE": {
        "statusCode": "413",
        "responseTemplates": _error_template(
            contract.ERROR_TOO_LARGE, "$context.error.messageString"
        ),
    },
    "UNSUPPORTED_MEDIA_TYPE": {
        "statusCode": "415",
        "responseTemplates": _error_template(
            contract.ERROR_UNSUPPORTED_MEDIA_TYPE, "$context.error.messageString"
        ),
    },
    "THROTTLED": {
        "statusCode": "429",
        "responseTemplates": _error_template(
            contract.ERROR_THROTTLED, "$context.error.messageString"
        ),
    },
    "WAF_FILTERED": {
        "statusCode": "403",
        "responseTemplates": _error_template(contract.ERROR_FORBIDDEN, '"Request blocked."'),
    },
}


def _integration(invoke_arn: str) -> dict[str, Any]:
    return {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": invoke_arn,
        "passthroughBehavior": "when_no_match",
        # API Gateway's maximum for REST APIs; the functions time out well before.
        "timeoutInMillis": 29000,
    }


def api_definition(document: Mapping[str, Any], invoke_arns: Mapping[str, str]) -> dict[str, Any]:
    """The OpenAPI document plus Lambda proxy integrations, validation and error responses.

    `invoke_arns` maps a function's logical name to its alias invoke ARN. Every
    operation in contract.ROUTES is wired to its function; each path also gets
    an ANY method on the same function, so an unsupported method reaches the
    handler and gets a JSON 405 instead of API Gateway's 403.
    """
    definition = copy.deepcopy(dict(document))
    paths: dict[str, dict[str, Any]] = definition.setdefault("paths", {})
    routes = {(r.path, r.method.lower()): r for r in contract.ROUTES}
    documented = {
        (path, method) for path, item in paths.items() for method in item if method in HTTP_METHODS
    }
    if documented != set(routes):
        raise ContractMismatchError(
            f"{OPENAPI_PATH.name} and handlers/contract.py disagree: "
            f"only in the document {sorted(documented - set(routes))}, "
            f"only in the contract {sorted(set(routes) - documented)}"
        )
    for (path, method), route in routes.items():
        operation = paths[path][method]
        if operation.get("operationId") != route.operation_id:
            raise ContractMismatchError(
                f"{method.upper()} {path}: operationId must be {route.operation_id}"
            )
        operation["x-amazon-apigateway-integration"] = _integration(invoke_arns[route.function])
        paths[path].setdefault(
            "x-amazon-apigateway-any-method",
            {
                "parameters": [
                    p
                    for p in paths[path].get("parameters", []) + operation.get("parameters", [])
                    if p.get("in") == "path"
                ],
                "responses": {"405": {"description": "Method not allowed"}},
                "x-amazon-apigateway-integration": _integration(invoke_arns[route.function]),
            },
        )
    # API Gateway's parameter validation only checks that required parameters are
    # present (it does not apply their schemas); limits, charsets and bodies are
    # checked by the handler, which answers in the same error shape.
    definition["x-amazon-apigateway-request-validators"] = {
        VALIDATOR: {"validateRequestBody": False, "validateRequestParameters": True}
    }
    definition["x-amazon-apigateway-request-validator"] = VALIDATOR
    definition["x-amazon-apigateway-gateway-responses"] = copy.deepcopy(GATEWAY_RESPONSES)
    return definition
