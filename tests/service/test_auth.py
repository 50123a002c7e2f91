"""Authentication: handlers/auth.py's RS256 verification against real keys and
tokens made with `cryptography`, the Lambda authorizer's answers, and the
caller-scoped idempotency of POST /EpochRegisterTime."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from handlers import auth, contract
from handlers.auth import allow_policy, authorize, verifier_from_env
from handlers.routes import item_id_for_key
from local_api.server import OPENAPI_PATH
from tests.tokens import AUDIENCE, ISSUER, TestIssuer, b64url


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture(scope="module")
def verifier(issuer: TestIssuer) -> auth.TokenVerifier:
    return auth.TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=auth.StaticKeys(issuer.jwks()))


# --- RSASSA-PKCS1-v1_5 / SHA-256 against cryptography's signatures -----------------


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_signatures_made_by_cryptography_verify(bits: int) -> None:
    signer = TestIssuer(bits=bits)
    key = auth.keys_from_jwks(signer.jwks())[signer.kid]
    for message in (b"", b"a", b"header.payload", os.urandom(1000)):
        signature = signer.sign(message)
        assert key.verify_pkcs1_sha256(message, signature)
        assert not key.verify_pkcs1_sha256(message + b"x", signature)
        flipped = bytes([signature[0] ^ 1]) + signature[1:]
        assert not key.verify_pkcs1_sha256(message, flipped)


def test_other_paddings_and_hashes_do_not_verify(issuer: TestIssuer) -> None:
    key = auth.keys_from_jwks(issuer.jwks())[issuer.kid]
    message = b"header.payload"
    pss = issuer.key.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    sha512 = issuer.key.sign(message, padding.PKCS1v15(), hashes.SHA512())
    assert not key.verify_pkcs1_sha256(message, pss)
    assert not key.verify_pkcs1_sha256(message, sha512)
    assert not key.verify_pkcs1_sha256(message, b"\x00" * key.size)
    assert not key.verify_pkcs1_sha256(message, issuer.sign(message)[:-1])


SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _raw_sign(issuer: TestIssuer, encoded: bytes) -> bytes:
    """The RSA signature primitive on a chosen encoded block (what a forger aims at)."""
    numbers = issuer.key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    return pow(int.from_bytes(encoded, "big"), numbers.d, n).to_bytes(size, "big")


@pytest.mark.parametrize(
    "encode",
    [
        # Block type 2 (encryption padding) instead of 1.
        lambda size, di: b"\x00\x02" + b"\xff" * (size - len(di) - 3) + b"\x00" + di,
        # Garbage inside the padding: a verifier that only reads the digest accepts it.
        lambda size, di: b"\x00\x01" + b"\xab" * (size - len(di) - 3) + b"\x00" + di,
        # The digest without its DigestInfo.
        lambda size, di: b"\x00\x01" + b"\xff" * (size - 32 - 3) + b"\x00" + di[-32:],
        # Short padding, the rest after the digest (Bleichenbacher 2006).
        lambda size, di: b"\x00\x01\xff\x00" + di + b"\x00" * (size - len(di) - 4),
    ],
    ids=["block-type-2", "garbage-padding", "no-digest-info", "trailing-garbage"],
)
def test_malformed_pkcs1_encodings_do_not_verify(issuer: TestIssuer, encode: Any) -> None:
    key = auth.keys_from_jwks(issuer.jwks())[issuer.kid]
    message = b"header.payload"
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    good = b"\x00\x01" + b"\xff" * (key.size - len(digest_info) - 3) + b"\x00" + digest_info
    assert key.verify_pkcs1_sha256(message, _raw_sign(issuer, good))
    assert not key.verify_pkcs1_sha256(message, _raw_sign(issuer, encode(key.size, digest_info)))


def test_keys_below_2048_bits_are_refused() -> None:
    with pytest.raises(auth.KeySourceError, match="2048"):
        auth.keys_from_jwks(TestIssuer(bits=1024).jwks())


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"keys": "x"},
        {"keys": []},
        {"keys": [{"kty": "EC", "kid": "a"}]},
        {"keys": [{"kty": "RSA", "kid": "a", "alg": "RS512", "n": "AQAB", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "kid": "a", "n": "***", "e": "AQAB"}]},
    ],
)
def test_unusable_jwks_documents_are_key_source_errors(document: Any) -> None:
    with pytest.raises(auth.KeySourceError):
        auth.keys_from_jwks(document)


# --- JWT checks -------------------------------------------------------------------


def test_a_valid_token_gives_its_claims(issuer: TestIssuer, verifier: auth.TokenVerifier) -> None:
    claims = verifier.verify(issuer.token("alice"))
    assert claims["sub"] == "alice"
    assert claims["iss"] == ISSUER


def test_audience_lists_and_cognito_access_tokens(
    issuer: TestIssuer, verifier: auth.TokenVerifier
) -> None:
    assert verifier.verify(issuer.token(aud=["other", AUDIENCE]))["sub"] == "client-1"
    # Cognito access tokens: no aud, the app client in client_id.
    access = issuer.token(aud=None, client_id=AUDIENCE, token_use="access")
    assert verifier.verify(access)["sub"] == "client-1"


def _tamper_payload(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(auth.b64url_decode(payload))
    claims["sub"] = "mallory"
    return ".".join((head, b64url(json.dumps(claims).encode()), signature))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: _tamper_payload(i.token()), "bad signature"),
        (lambda i: TestIssuer(kid=i.kid).token(), "bad signature"),
        (lambda i: i.token(header={"kid": "unknown"}), "key id"),
        (lambda i: i.token(header={"alg": "HS256"}), "RS256"),
        (lambda i: i.token(header={"alg": "none"}), "RS256"),
        (lambda i: i.token().rsplit(".", 1)[0] + ".", "base64url"),
        (lambda i: i.token(iss="https://evil.example"), "issuer"),
        (lambda i: i.token(aud="someone-else"), "audience"),
        (lambda i: i.token(aud=None), "audience"),
        (lambda i: i.token(exp=1_000_000_000), "expired"),
        (lambda i: i.token(exp=None), "expired"),
        (lambda i: i.token(exp="2999999999"), "expired"),
        (lambda i: i.token(nbf=4_000_000_000), "not valid yet"),
        (lambda i: i.token(sub=""), "sub"),
        (lambda i: "a.b", "three parts"),
        (lambda i: "x" * 9000, "too long"),
    ],
)
def test_tokens_the_api_does_not_accept(
    issuer: TestIssuer, verifier: auth.TokenVerifier, make: Any, reason: str
) -> None:
    with pytest.raises(auth.InvalidToken, match=reason):
        verifier.verify(make(issuer))


def test_jwks_is_discovered_cached_and_refetched_for_a_new_key() -> None:
    old, new = TestIssuer(kid="old"), TestIssuer(kid="new")
    served = {"keys": [old.jwk()]}
    fetched: list[str] = []
    clock = [0.0]

    def fetch(url: str) -> Any:
        fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"}
        return served

    keys = auth.Jwks(ISSUER, fetch=fetch, clock=lambda: clock[0])
    verifier = auth.TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys)
    verifier.verify(old.token())
    verifier.verify(old.token())
    assert fetched == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/keys"]
    # The issuer rotates: a token with the new kid refetches, but not more than once a minute.
    served = {"keys": [old.jwk(), new.jwk()]}
    clock[0] = 10.0
    with pytest.raises(auth.InvalidToken, match="key id"):
        verifier.verify(new.token())
    clock[0] = auth.JWKS_REFETCH_SECONDS
    assert verifier.verify(new.token())["sub"] == "client-1"
    assert fetched[2:] == [f"{ISSUER}/keys"]


def test_keys_are_fetched_over_https_only() -> None:
    with pytest.raises(auth.KeySourceError, match="https only"):
        auth.fetch_json("http://issuer.test.example/keys")


# --- The Lambda authorizer ----------------------------------------------------------

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/EpochRegisterTime"


def test_authorizer_allows_the_whole_stage_for_a_valid_token(
    issuer: TestIssuer, verifier: auth.TokenVerifier
) -> None:
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {issuer.token('alice')}",
        "methodArn": METHOD_ARN,
    }
    answer = authorize(event, verifier)
    assert answer == allow_policy("alice", METHOD_ARN, {"iss": ISSUER})
    statement = answer["policyDocument"]["Statement"][0]
    # The answer is cached per token for every route: it must not name one method.
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*",
    }


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.token", "Bearer a b"]
)
def test_authorizer_refuses_with_the_text_api_gateway_turns_into_401(
    verifier: auth.TokenVerifier, header: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"authorizationToken": header, "methodArn": METHOD_ARN}, verifier)


def test_authorizer_key_failures_are_not_401(issuer: TestIssuer) -> None:
    def unreachable(url: str) -> Any:
        raise auth.KeySourceError(f"{url}: timed out")

    verifier = auth.TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=auth.Jwks(ISSUER, fetch=unreachable)
    )
    with pytest.raises(auth.KeySourceError):
        authorize({"authorizationToken": f"Bearer {issuer.token()}"}, verifier)


def test_authorizer_settings_come_from_its_environment() -> None:
    with pytest.raises(RuntimeError, match="JWT_ISSUER, JWT_AUDIENCE"):
        verifier_from_env({})
    built = verifier_from_env({auth.ENV_JWT_ISSUER: ISSUER, auth.ENV_JWT_AUDIENCE: AUDIENCE})
    assert (built.issuer, built.audience) == (ISSUER, AUDIENCE)


# --- The caller and idempotency ------------------------------------------------------


def test_caller_scope_from_the_proxy_event() -> None:
    assert auth.caller_scope({}) is None
    assert auth.caller_scope({"requestContext": {"identity": {"sourceIp": "1.2.3.4"}}}) is None
    jwt_event = {"requestContext": {"authorizer": {"principalId": "alice"}}}
    assert auth.caller_scope(jwt_event) == "jwt:alice"
    key_event = {"requestContext": {"identity": {"apiKey": "k" * 40, "apiKeyId": "id-1"}}}
    scope = auth.caller_scope(key_event)
    assert scope is not None
    assert scope.startswith("key:")
    assert "k" * 40 not in scope
    # The key's id differs per region; the value does not, and neither does the scope.
    other_region = {"requestContext": {"identity": {"apiKey": "k" * 40, "apiKeyId": "id-2"}}}
    assert auth.caller_scope(other_region) == scope


def test_an_idempotency_key_names_a_different_item_per_caller() -> None:
    key = "order-0001"
    assert item_id_for_key(key, None) == item_id_for_key(key)
    ids = {item_id_for_key(key, None), item_id_for_key(key, "jwt:a"), item_id_for_key(key, "jwt:b")}
    assert len(ids) == 3
    assert item_id_for_key(key, "jwt:a") == item_id_for_key(key, "jwt:a")


def test_secured_document_adds_schemes_security_and_401_only_when_on() -> None:
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert auth.secured_document(document, auth.AUTH_NONE) == document
    for mode in (auth.AUTH_JWT, auth.AUTH_API_KEY):
        secured = auth.secured_document(document, mode)
        scheme = auth.SECURITY_SCHEME[mode]
        assert secured["components"]["securitySchemes"] == {
            scheme: auth.client_security_scheme(mode)
        }
        operations = {
            op["operationId"]: op
            for item in secured["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        }
        for operation_id, operation in operations.items():
            if operation_id in auth.SECURED_OPERATIONS:
                assert operation["security"] == [{scheme: []}]
                assert "401" in operation["responses"]
            else:
                assert "security" not in operation
                assert "401" not in operation["responses"]
        enum = secured["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
        assert enum == [*contract.ERROR_CODES, *auth.AUTH_ERROR_CODES]
    assert "health" not in auth.SECURED_OPERATIONS
