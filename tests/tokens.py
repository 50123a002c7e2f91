"""A test token issuer: real RSA keys and RS256 JWTs made with `cryptography`
(a dev dependency), to check handlers/auth.py's standard-library verification."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://issuer.test.example"
AUDIENCE = "epoch-register-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class TestIssuer:
    """An RSA key pair with a key id; signs tokens and publishes its JWKS."""

    __test__ = False

    def __init__(self, kid: str = "test-key-1", bits: int = 2048, issuer: str = ISSUER) -> None:
        self.kid = kid
        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def write_jwks(self, path: Path) -> Path:
        path.write_text(json.dumps(self.jwks()), encoding="utf-8")
        return path

    def claims(self, subject: str = "client-1", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def token(
        self,
        subject: str = "client-1",
        *,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        head = {"alg": "RS256", "typ": "JWT", "kid": self.kid, **(header or {})}
        signing_input = (
            b64url(json.dumps(head).encode())
            + "."
            + b64url(json.dumps(self.claims(subject, **claims)).encode())
        )
        return f"{signing_input}.{b64url(self.sign(signing_input.encode()))}"
