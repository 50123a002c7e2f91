"""Lambda entry point of the `authorizer` function (settings `api.auth = "jwt"`).

An API Gateway TOKEN authorizer: the `Authorization: Bearer <JWT>` header is
verified against the issuer's JWKS (handlers/auth.py). A token this API does not
accept raises "Unauthorized", which API Gateway answers 401 (the contract's
JSON, through its UNAUTHORIZED gateway response); a failure to fetch the keys
raises anything else, which API Gateway answers through AUTHORIZER_FAILURE.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from handlers.auth import (
    ENV_JWKS_URL,
    ENV_JWT_AUDIENCE,
    ENV_JWT_ISSUER,
    InvalidToken,
    Jwks,
    TokenVerifier,
    bearer_token,
)
from handlers.logs import get_logger

_log = get_logger()


def verifier_from_env(env: Mapping[str, str]) -> TokenVerifier:
    missing = [name for name in (ENV_JWT_ISSUER, ENV_JWT_AUDIENCE) if not env.get(name)]
    if missing:
        raise RuntimeError(f"environment variable {', '.join(missing)} is not set")
    issuer = env[ENV_JWT_ISSUER]
    return TokenVerifier(
        issuer=issuer,
        audience=env[ENV_JWT_AUDIENCE],
        keys=Jwks(issuer, env.get(ENV_JWKS_URL) or None),
    )


def allow_policy(principal: str, method_arn: str, claims: Mapping[str, Any]) -> dict[str, Any]:
    """Allow every method of the stage: API Gateway caches this answer per token."""
    api_and_stage = "/".join(method_arn.split("/")[:2])
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": f"{api_and_stage}/*/*",
                }
            ],
        },
        "context": {"issuer": str(claims.get("iss", ""))},
    }


def authorize(event: Mapping[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    token = bearer_token(event.get("authorizationToken"))
    method_arn = str(event.get("methodArn") or "")
    try:
        if token is None:
            raise InvalidToken("no bearer token")
        claims = verifier.verify(token)
    except InvalidToken as refused:
        _log.info("token refused", extra={"fields": {"reason": str(refused)}})
        # The exact text API Gateway turns into 401.
        raise Exception("Unauthorized") from None
    return allow_policy(str(claims["sub"]), method_arn, claims)


VERIFIER = verifier_from_env(os.environ)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, VERIFIER)
