"""What the deployed API Gateway does before the handlers when `api.auth` is on.

jwt: the bearer token is verified as the Lambda authorizer verifies it (the
same handlers/auth.py code), against the keys of a JWKS file (a local test
issuer) or the issuer's own JWKS over https. api_key: the `x-api-key` value must
be one of the given keys. A refused request gets the deployed API's answer
(401, the contract's JSON); an accepted one reaches the handlers with the
caller in `requestContext`, where API Gateway puts it. GET /health and methods a
path does not serve stay open, as deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from handlers import auth, contract
from handlers.api import match_path

# What local mode answers instead of calling the handlers: status, headers, body.
Refusal = tuple[int, dict[str, str], bytes]
_BEARER = re.compile("[Bb]earer [-0-9A-Za-z._~+/]+=*")


class LocalAuthError(ValueError):
    """A JWKS or keys file that cannot be used (one line for the user)."""


def _refusal(status: int, code: str, message: str) -> Refusal:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    return status, {"Content-Type": "application/json"}, body.encode()


def _header(event: Mapping[str, Any], name: str) -> list[str]:
    headers = event.get("multiValueHeaders") or {}
    return [v for key, values in headers.items() if key.lower() == name.lower() for v in values]


def secured(method: str, path: str) -> bool:
    """Whether the deployed API asks for credentials for this request."""
    matched = match_path(path)
    if matched is None:
        return False
    return any(
        route.path == matched[0]
        and route.method == method
        and route.operation_id in auth.SECURED_OPERATIONS
        for route in contract.ROUTES
    )


class LocalGate:
    """Admits or refuses one proxy event as the deployed API would for `mode`."""

    def __init__(
        self,
        mode: str,
        *,
        verifier: auth.TokenVerifier | None = None,
        api_keys: Mapping[str, str] | None = None,
    ) -> None:
        if mode == auth.AUTH_JWT and verifier is None:
            raise ValueError("jwt needs a token verifier")
        self.mode = mode
        self._verifier = verifier
        self._keys = frozenset((api_keys or {}).values())

    def admit(self, event: dict[str, Any]) -> Refusal | None:
        if self.mode == auth.AUTH_NONE or not secured(event["httpMethod"], event["path"]):
            return None
        context = event.setdefault("requestContext", {})
        if self.mode == auth.AUTH_API_KEY:
            values = _header(event, auth.API_KEY_HEADER)
            if len(values) != 1 or values[0] not in self._keys:
                return _refusal(401, auth.ERROR_UNAUTHORIZED, auth.MESSAGE_BAD_KEY)
            context.setdefault("identity", {})["apiKey"] = values[0]
            return None
        assert self._verifier is not None
        values = _header(event, auth.AUTHORIZATION_HEADER)
        if len(values) != 1 or not _BEARER.fullmatch(values[0]):
            return _refusal(401, auth.ERROR_UNAUTHORIZED, auth.MESSAGE_BAD_TOKEN)
        try:
            claims = self._verifier.verify(values[0].split(" ", 1)[1])
        except auth.InvalidToken:
            return _refusal(401, auth.ERROR_UNAUTHORIZED, auth.MESSAGE_BAD_TOKEN)
        except auth.KeySourceError:
            return _refusal(503, contract.ERROR_UNAVAILABLE, auth.MESSAGE_AUTHORIZER_FAILED)
        context["authorizer"] = {"principalId": claims["sub"], "issuer": claims["iss"]}
        return None


def read_json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocalAuthError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise LocalAuthError(f"the {what} {path} is not JSON: {exc}") from None


def jwt_verifier(
    *, issuer: str, audience: str, jwks_url: str | None, jwks_file: Path | None
) -> auth.TokenVerifier:
    """The authorizer's verifier; with `jwks_file`, trusting that file's keys instead."""
    keys: auth.Jwks | auth.StaticKeys
    if jwks_file is not None:
        try:
            keys = auth.StaticKeys(read_json_file(jwks_file, "JWKS file"))
        except auth.KeySourceError as exc:
            raise LocalAuthError(f"the JWKS file {jwks_file}: {exc}") from None
    else:
        keys = auth.Jwks(issuer, jwks_url)
    return auth.TokenVerifier(issuer=issuer, audience=audience, keys=keys)


def api_keys_from_file(path: Path) -> dict[str, str]:
    """`{"<client>/<label>": "<value>", ...}`: the shape of the `api_key_values` output."""
    document = read_json_file(path, "API keys file")
    if (
        not isinstance(document, dict)
        or not document
        or not all(isinstance(v, str) and len(v) >= 20 for v in document.values())
    ):
        raise LocalAuthError(
            f"the API keys file {path} must be a JSON object of name -> key value "
            "(20 or more characters each), as `terraform output -json api_key_values` prints"
        )
    return {str(k): v for k, v in document.items()}
