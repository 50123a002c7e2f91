"""Turn the service's OpenAPI document into the API Gateway definition for one region.

The document (handlers/openapi.json) is the one contract the handlers, local
mode and this infrastructure share. The body sent to API Gateway is derived
from it: the `x-amazon-apigateway-*` extensions are added, and what REST API
import does not support is inlined or left out. Clients (local mode's
/openapi.json) get the document as written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers import auth, contract

OPENAPI_PATH = Path(contract.__file__).resolve().parent / contract.OPENAPI_FILENAME
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
VALIDATOR = "params"

# REST API import does not support these ("Amazon API Gateway important notes
# for REST APIs"): the keywords are left out of every schema, the number formats
# too, and `$ref`s to anything but a schema (responses, headers, parameters,
# request bodies) are replaced by what they point to. API Gateway uses the
# schemas as models only; the handlers validate every value themselves.
UNSUPPORTED_KEYWORDS = frozenset(
    {"nullable", "default", "example", "discriminator", "readOnly", "exclusiveMinimum"}
)
UNSUPPORTED_NUMBER_FORMATS = frozenset({"int32", "int64", "decimal"})
COMPOSITION_KEYWORDS = ("oneOf", "anyOf", "allOf")
SCHEMA_REF_PREFIX = "#/components/schemas/"
# Customizing this gateway response is not supported either.
UNSUPPORTED_GATEWAY_RESPONSES = frozenset({"REQUEST_TOO_LARGE"})
GATEWAY_RESPONSES_KEY = "x-amazon-apigateway-gateway-responses"


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
    # No REQUEST_TOO_LARGE: API Gateway does not support customizing it (its
    # limit is 10 MB; the handler answers 413 in the error shape above 1 KiB).
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


# Only with authentication on (the public API's definition stays as it was):
# API Gateway's refusals of credentials, in the service's error shape.
AUTH_GATEWAY_RESPONSES: dict[str, dict[str, Any]] = {
    # No or an invalid token (the authorizer said "Unauthorized", or the header
    # failed identityValidationExpression).
    "UNAUTHORIZED": {
        "statusCode": "401",
        "responseTemplates": _error_template(
            auth.ERROR_UNAUTHORIZED, json.dumps(auth.MESSAGE_BAD_TOKEN)
        ),
    },
    # No or an unknown API key (API Gateway's default is 403 "Forbidden").
    "INVALID_API_KEY": {
        "statusCode": "401",
        "responseTemplates": _error_template(
            auth.ERROR_UNAUTHORIZED, json.dumps(auth.MESSAGE_BAD_KEY)
        ),
    },
    "ACCESS_DENIED": {
        "statusCode": "403",
        "responseTemplates": _error_template(
            contract.ERROR_FORBIDDEN, "$context.error.messageString"
        ),
    },
    # A key's usage-plan quota is used up.
    "QUOTA_EXCEEDED": {
        "statusCode": "429",
        "responseTemplates": _error_template(
            contract.ERROR_THROTTLED, '"The API key\'s quota is used up for this period."'
        ),
    },
    # The authorizer failed (e.g. the issuer's JWKS did not answer): worth a retry.
    "AUTHORIZER_FAILURE": {
        "statusCode": "503",
        "responseTemplates": _error_template(
            contract.ERROR_UNAVAILABLE, json.dumps(auth.MESSAGE_AUTHORIZER_FAILED)
        ),
    },
    "AUTHORIZER_CONFIGURATION_ERROR": {
        "statusCode": "500",
        "responseTemplates": _error_template(
            contract.ERROR_INTERNAL, '"Credentials could not be checked."'
        ),
    },
    "API_CONFIGURATION_ERROR": {
        "statusCode": "500",
        "responseTemplates": _error_template(contract.ERROR_INTERNAL, '"Internal error."'),
    },
}
# A bearer token API Gateway passes to the authorizer; anything else is 401 at once.
BEARER_PATTERN = "^[Bb]earer [-0-9A-Za-z._~+/]+=*$"


@dataclass(frozen=True)
class ApiSecurity:
    """How the API authenticates: settings `api.auth`; for jwt, the authorizer to call."""

    mode: str = auth.AUTH_NONE
    authorizer_uri: str | None = None
    cache_seconds: int = 300


def gateway_security_scheme(security: ApiSecurity) -> dict[str, Any]:
    """The security scheme in API Gateway's terms (x-amazon-apigateway-authorizer)."""
    if security.mode == auth.AUTH_JWT:
        if security.authorizer_uri is None:
            raise ValueError("auth jwt needs the authorizer's invoke URI")
        return {
            "type": "apiKey",
            "name": auth.AUTHORIZATION_HEADER,
            "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {
                "type": "token",
                "authorizerUri": security.authorizer_uri,
                "authorizerResultTtlInSeconds": security.cache_seconds,
                "identityValidationExpression": BEARER_PATTERN,
            },
        }
    return {"type": "apiKey", "name": auth.API_KEY_HEADER, "in": "header"}


def _integration(invoke_arn: str) -> dict[str, Any]:
    return {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": invoke_arn,
        "passthroughBehavior": "when_no_match",
        # API Gateway's maximum for REST APIs; the functions time out well before.
        "timeoutInMillis": 29000,
    }


def api_definition(
    document: Mapping[str, Any],
    invoke_arns: Mapping[str, str],
    security: ApiSecurity = ApiSecurity(),
) -> dict[str, Any]:
    """The OpenAPI document plus Lambda proxy integrations, validation and error responses.

    `invoke_arns` maps a function's logical name to its alias invoke ARN. Every
    operation in contract.ROUTES is wired to its function; each path also gets
    an ANY method on the same function, so an unsupported method reaches the
    handler and gets a JSON 405 instead of API Gateway's 403.
    """
    _one_function_per_path(contract.ROUTES)
    # Inlined first, so that path parameters behind a $ref reach the ANY methods too.
    definition = import_compatible(document)
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
    # GATEWAY_RESPONSES holds only responses REST API import supports.
    definition[GATEWAY_RESPONSES_KEY] = copy.deepcopy(GATEWAY_RESPONSES)
    if security.mode == auth.AUTH_NONE:
        return definition
    # After import_compatible, which drops components other than schemas.
    secured = auth.secured_document(definition, security.mode, gateway_security_scheme(security))
    secured[GATEWAY_RESPONSES_KEY].update(copy.deepcopy(AUTH_GATEWAY_RESPONSES))
    if security.mode == auth.AUTH_API_KEY:
        secured["x-amazon-apigateway-api-key-source"] = "HEADER"
    return secured


def _one_function_per_path(routes: Sequence[contract.Route]) -> None:
    """A path's ANY method (405 for the methods it does not serve) goes to one function,
    so every route of a path must name the same function."""
    functions: dict[str, set[str]] = {}
    for route in routes:
        functions.setdefault(route.path, set()).add(route.function)
    for path, names in functions.items():
        if len(names) > 1:
            raise ContractMismatchError(
                f"handlers/contract.py: the routes of {path} name different functions "
                f"({', '.join(sorted(names))}); one path is served by one function: "
                "give the new operation a path of its own"
            )


def import_compatible(definition: Mapping[str, Any]) -> dict[str, Any]:
    """`definition` without what REST API import does not support (see UNSUPPORTED_KEYWORDS).

    Raises ContractMismatchError for what cannot be left out without changing the
    meaning: a `$ref` that does not resolve, or inside oneOf/anyOf/allOf.
    """
    # A new tree: _inline_refs rebuilds every dict and list, so the input stays untouched.
    inlined: dict[str, Any] = _inline_refs(dict(definition), definition, ())
    components = inlined.get("components")
    if isinstance(components, dict):
        # Only schemas (API Gateway models) are still referenced.
        for section in [k for k in components if k != "schemas"]:
            del components[section]
    responses = inlined.get(GATEWAY_RESPONSES_KEY)
    if isinstance(responses, dict):
        for name in UNSUPPORTED_GATEWAY_RESPONSES:
            responses.pop(name, None)
    _strip(inlined, in_name_map=False)
    return inlined


def _resolve(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ContractMismatchError(f"{OPENAPI_PATH.name}: {ref}: only local $refs are supported")
    target: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise ContractMismatchError(f"{OPENAPI_PATH.name}: {ref} does not resolve")
        target = target[part]
    return target


def _inline_refs(node: Any, document: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    """A copy of `node` with every non-schema `$ref` replaced by its target."""
    if isinstance(node, list):
        return [_inline_refs(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(document, ref)
        if ref.startswith(SCHEMA_REF_PREFIX):
            return dict(node)
        if ref in seen:
            raise ContractMismatchError(f"{OPENAPI_PATH.name}: {ref} refers to itself")
        return _inline_refs(target, document, (*seen, ref))
    for keyword in COMPOSITION_KEYWORDS:
        if any("$ref" in item for item in node.get(keyword, []) if isinstance(item, dict)):
            raise ContractMismatchError(
                f"{OPENAPI_PATH.name}: {keyword} with a $ref is not supported by "
                "API Gateway's import; write the schemas out"
            )
    return {key: _inline_refs(value, document, seen) for key, value in node.items()}


# Keys whose values are maps of user-chosen names (a property may be called "default").
_NAME_MAPS = frozenset(
    {
        "paths",
        "properties",
        "responses",
        "schemas",
        "headers",
        "content",
        "links",
        "callbacks",
        "encoding",
        "securitySchemes",
        GATEWAY_RESPONSES_KEY,
        "x-amazon-apigateway-request-validators",
        "responseTemplates",
        "responseParameters",
    }
)


def _strip(node: Any, *, in_name_map: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _strip(item, in_name_map=False)
        return
    if not isinstance(node, dict):
        return
    if not in_name_map:
        for key in UNSUPPORTED_KEYWORDS & node.keys():
            del node[key]
        if node.get("format") in UNSUPPORTED_NUMBER_FORMATS:
            del node["format"]
    for key, value in node.items():
        _strip(value, in_name_map=not in_name_map and key in _NAME_MAPS)
