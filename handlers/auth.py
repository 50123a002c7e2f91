"""Authentication: modes, the caller's identity in a proxy event, RS256 JWT verification.

Standard library only (this module is in the Lambda zip, and the Lambda
runtime has no PyJWT or `cryptography`): an RS256 signature is RSASSA-PKCS1-v1_5
with SHA-256 (RFC 8017 section 8.2.2), one modular exponentiation with Python's
`pow()` and a byte comparison with the expected encoding. Nothing else of RSA
(no decryption, no padding oracle) is needed to verify.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from handlers import contract
from handlers.logs import get_logger

AUTH_NONE = "none"
AUTH_JWT = "jwt"
AUTH_API_KEY = "api_key"
AUTH_MODES = (AUTH_NONE, AUTH_JWT, AUTH_API_KEY)
# Set on the data functions when auth is on (unset: none); the authorizer's settings.
ENV_AUTH_MODE = "AUTH_MODE"
ENV_JWT_ISSUER = "JWT_ISSUER"
ENV_JWT_AUDIENCE = "JWT_AUDIENCE"
ENV_JWKS_URL = "JWKS_URL"
# The authorizer function (auth = "jwt" only; not one of contract.FUNCTION_HANDLERS).
AUTHORIZER_FUNCTION = "authorizer"
AUTHORIZER_HANDLER = "handlers.authorizer.handler"
# The header API Gateway reads an API key from (apiKeySource HEADER).
API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "Authorization"
# The operations a client must authenticate for: GET /health stays public
# (Route 53's health checkers cannot send credentials).
SECURED_OPERATIONS = tuple(
    route.operation_id for route in contract.ROUTES if route.operation_id != "health"
)
# Error codes only an API with authentication answers (401; 403 is `forbidden`).
ERROR_UNAUTHORIZED = "unauthorized"
AUTH_ERROR_CODES: tuple[str, ...] = (ERROR_UNAUTHORIZED,)
SECURITY_SCHEME = {AUTH_JWT: "bearerJwt", AUTH_API_KEY: "apiKey"}
# The messages of API Gateway's refusals (openapi.py's gateway responses, local mode).
MESSAGE_BAD_TOKEN = "Missing or invalid bearer token."  # noqa: S105 - a message
MESSAGE_BAD_KEY = "Missing or invalid API key."
MESSAGE_AUTHORIZER_FAILED = "Credentials could not be checked; retry later."

# Seconds of clock difference tolerated on exp / nbf.
LEEWAY_SECONDS = 60
# Keys below 2048 bits are refused (NIST SP 800-131A).
MIN_RSA_BITS = 2048
JWKS_TTL_SECONDS = 3600.0
# A token naming an unknown key id refetches the JWKS (key rotation), at most this often.
JWKS_REFETCH_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 3.0
MAX_TOKEN_LENGTH = 8192
# DER prefix of a SHA-256 DigestInfo (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_log = get_logger()


class InvalidToken(Exception):  # noqa: N818 - a verdict, not a failure of this code
    """The token is not one this API accepts (the client's problem: 401)."""


class KeySourceError(Exception):
    """The issuer's keys could not be fetched or read (the service's problem: 5xx)."""


# --- The caller's identity ------------------------------------------------------


def caller_scope(event: Mapping[str, Any]) -> str | None:
    """Who is calling, as API Gateway (or local mode) established it: the same text
    in every region for the same client, or None for an unauthenticated request.

    jwt: the authorizer's principal (the token's `sub`). api_key: a hash of the
    key's value (API Gateway's key id differs per region; the value does not).
    """
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    authorizer = context.get("authorizer")
    if isinstance(authorizer, Mapping) and authorizer.get("principalId"):
        return f"jwt:{authorizer['principalId']}"
    identity = context.get("identity")
    if isinstance(identity, Mapping) and identity.get("apiKey"):
        digest = hashlib.sha256(str(identity["apiKey"]).encode("utf-8")).hexdigest()
        return f"key:{digest}"
    return None


# --- The API document a client sees -----------------------------------------------


def client_security_scheme(mode: str) -> dict[str, Any]:
    if mode == AUTH_JWT:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    return {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}


def secured_document(
    document: Mapping[str, Any], mode: str, scheme: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI document for an API with authentication `mode` (a copy; `none`:
    unchanged): the security scheme (`scheme`, else the client's view), a
    `security` requirement and a 401 answer on every secured operation, and the
    401 code in the error schema."""
    result = copy.deepcopy(dict(document))
    if mode == AUTH_NONE:
        return result
    name = SECURITY_SCHEME[mode]
    components = result.setdefault("components", {})
    components.setdefault("securitySchemes", {})[name] = dict(
        scheme if scheme is not None else client_security_scheme(mode)
    )
    how = (
        "a bearer token (`Authorization: Bearer <JWT>`)"
        if mode == AUTH_JWT
        else f"an API key (`{API_KEY_HEADER}` header)"
    )
    unauthorized = {
        "description": f"Missing or invalid credentials: this operation needs {how} "
        f"(`{ERROR_UNAUTHORIZED}`).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if operation.get("operationId") in SECURED_OPERATIONS:
                operation["security"] = [{name: []}]
                operation.setdefault("responses", {})["401"] = copy.deepcopy(unauthorized)
    codes = result["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
    codes.extend(code for code in AUTH_ERROR_CODES if code not in codes)
    return result


# --- RS256 ------------------------------------------------------------------------


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url (RFC 7515 section 2): anything else is an InvalidToken."""
    if not text or any(c not in _B64URL for c in text) or len(text) % 4 == 1:
        raise InvalidToken("malformed base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed base64url") from None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class RsaKey:
    """An RSA public key (modulus, exponent) of at least MIN_RSA_BITS bits."""

    __slots__ = ("e", "n", "size")

    def __init__(self, n: int, e: int) -> None:
        if n.bit_length() < MIN_RSA_BITS or e < 3 or e % 2 == 0:
            raise KeySourceError(f"RSA key below {MIN_RSA_BITS} bits or with a bad exponent")
        self.n = n
        self.e = e
        self.size = (n.bit_length() + 7) // 8

    def verify_pkcs1_sha256(self, message: bytes, signature: bytes) -> bool:
        """RSASSA-PKCS1-v1_5-VERIFY with SHA-256 (RFC 8017 section 8.2.2)."""
        if len(signature) != self.size:
            return False
        s = int.from_bytes(signature, "big")
        if s >= self.n:
            return False
        encoded = pow(s, self.e, self.n).to_bytes(self.size, "big")
        digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        padding = self.size - len(digest_info) - 3
        expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info
        return hmac.compare_digest(encoded, expected)


def keys_from_jwks(document: Any) -> dict[str, RsaKey]:
    """The RS256 signing keys of a JWKS document, by key id (`""` for a key without one)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise KeySourceError('a JWKS document is a JSON object with a "keys" list')
    keys: dict[str, RsaKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            n = int.from_bytes(b64url_decode(str(jwk["n"])), "big")
            e = int.from_bytes(b64url_decode(str(jwk["e"])), "big")
        except (KeyError, InvalidToken):
            raise KeySourceError("a JWKS RSA key needs base64url n and e") from None
        keys[str(jwk.get("kid", ""))] = RsaKey(n, e)
    if not keys:
        raise KeySourceError("the JWKS document holds no RS256 signing key")
    return keys


Fetch = Callable[[str], Any]


def fetch_json(url: str) -> Any:
    """GET an https URL and parse its JSON (the issuer's discovery document, its JWKS)."""
    if not url.startswith("https://"):
        raise KeySourceError(f"{url}: keys are fetched over https only")
    # https only (checked above): no file: or other schemes reach urlopen.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return json.loads(answer.read(1_000_000))
    except (OSError, ValueError) as exc:
        raise KeySourceError(f"{url}: {exc}") from None


class Jwks:
    """The issuer's signing keys, fetched over https and cached (thread-safe).

    The JWKS URL is `jwks_url`, else the `jwks_uri` of the issuer's OpenID
    discovery document. Keys are refetched after JWKS_TTL_SECONDS, and when a
    token names a key id not in the cache (rotation), at most every
    JWKS_REFETCH_SECONDS.
    """

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._url = jwks_url
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RsaKey] = {}
        self._fetched = float("-inf")

    def _jwks_url(self) -> str:
        if self._url is None:
            discovery = self._fetch(self._issuer.rstrip("/") + "/.well-known/openid-configuration")
            uri = discovery.get("jwks_uri") if isinstance(discovery, Mapping) else None
            if not isinstance(uri, str):
                raise KeySourceError(f"{self._issuer}: the discovery document names no jwks_uri")
            self._url = uri
        return self._url

    def key(self, kid: str) -> RsaKey:
        with self._lock:
            age = self._clock() - self._fetched
            stale = age >= JWKS_TTL_SECONDS
            unknown = kid not in self._keys and not (kid == "" and len(self._keys) == 1)
            if stale or (unknown and age >= JWKS_REFETCH_SECONDS):
                self._keys = keys_from_jwks(self._fetch(self._jwks_url()))
                self._fetched = self._clock()
            keys = self._keys
        if kid in keys:
            return keys[kid]
        if kid == "" and len(keys) == 1:
            return next(iter(keys.values()))
        raise InvalidToken("the token's key id is not one of the issuer's keys")


class StaticKeys:
    """A fixed key set (local mode's --jwks-file, tests)."""

    def __init__(self, document: Any) -> None:
        self._keys = keys_from_jwks(document)

    def key(self, kid: str) -> RsaKey:
        if kid in self._keys:
            return self._keys[kid]
        if kid == "" and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise InvalidToken("the token's key id is not one of the issuer's keys")


class TokenVerifier:
    """Checks an RS256 JWT: signature, `iss`, `aud` (or `client_id`), `exp`, `nbf`, `sub`."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: Jwks | StaticKeys,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = keys
        self._now = now

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; InvalidToken for any token this API does not accept."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token too long")
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("a JWT has three parts")
        header = _json_part(parts[0])
        if header.get("alg") != "RS256":
            raise InvalidToken("only RS256 tokens are accepted")
        if header.get("typ", "JWT") not in ("JWT", "at+jwt", "application/at+jwt"):
            raise InvalidToken("not a JWT")
        kid = header.get("kid", "")
        key = self._keys.key(kid if isinstance(kid, str) else "")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not key.verify_pkcs1_sha256(signing_input, b64url_decode(parts[2])):
            raise InvalidToken("bad signature")
        claims = _json_part(parts[1])
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise InvalidToken("wrong issuer")
        audience = claims.get("aud")
        if audience is None:
            # Cognito access tokens carry the app client in `client_id`, no `aud`.
            audience = claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise InvalidToken("wrong audience")
        now = self._now()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or now > exp + LEEWAY_SECONDS:
            raise InvalidToken("expired, or no exp claim")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_number(nbf) or now + LEEWAY_SECONDS < nbf):
            raise InvalidToken("not valid yet")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("no sub claim")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidToken("a JWT part is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("a JWT part is not a JSON object")
    return value


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, else None."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


# --- The Lambda TOKEN authorizer (handlers/authorizer.py) ------------------------


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
