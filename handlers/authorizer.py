"""Lambda entry point of the `authorizer` function (settings `api.auth = "jwt"`).

An API Gateway TOKEN authorizer: the `Authorization: Bearer <JWT>` header is
verified against the issuer's JWKS (handlers/auth.py). A token this API does not
accept raises "Unauthorized", which API Gateway answers 401 (the contract's
JSON, through its UNAUTHORIZED gateway response); a failure to fetch the keys
raises anything else, which API Gateway answers through AUTHORIZER_FAILURE.
"""

from __future__ import annotations

import os
from typing import Any

from handlers.auth import authorize, verifier_from_env

# Once per container: the verifier and its JWKS cache.
VERIFIER = verifier_from_env(os.environ)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, VERIFIER)
