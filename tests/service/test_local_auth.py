"""Authentication in local mode: the deployed API Gateway's refusals (401, the
contract's JSON) before the real handlers, caller-scoped idempotency over a real
dynalite, and `python -m local_api` run with an auth setting as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from handlers import auth, contract
from local_api.auth import LocalGate, jwt_verifier
from local_api.dynalite import PROJECT_ROOT, Dynalite, free_port
from tests.service.support import Service, start_service
from tests.tokens import AUDIENCE, ISSUER, TestIssuer

KEY_A = "a" * 40
KEY_B = "b" * 40


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def jwt_service(dynalite: Dynalite, issuer: TestIssuer, tmp_path: Path) -> Iterator[Service]:
    service = start_service(dynalite.endpoint_url, auth_mode=auth.AUTH_JWT)
    verifier = jwt_verifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=None,
        jwks_file=issuer.write_jwks(tmp_path / "jwks.json"),
    )
    service.api.set_gate(LocalGate(auth.AUTH_JWT, verifier=verifier))
    yield service
    service.stop()


@pytest.fixture
def key_service(dynalite: Dynalite) -> Iterator[Service]:
    service = start_service(dynalite.endpoint_url, auth_mode=auth.AUTH_API_KEY)
    service.api.set_gate(LocalGate(auth.AUTH_API_KEY, api_keys={"acme/1": KEY_A, "other/1": KEY_B}))
    yield service
    service.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: requests.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": auth.ERROR_UNAUTHORIZED, "message": message}}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
    ],
)
def test_jwt_requests_without_a_valid_token_are_refused_and_store_nothing(
    jwt_service: Service, headers: dict[str, str]
) -> None:
    assert_unauthorized(jwt_service.post(headers=headers), auth.MESSAGE_BAD_TOKEN)
    assert_unauthorized(jwt_service.get("/getEpoch", headers=headers), auth.MESSAGE_BAD_TOKEN)
    assert jwt_service.stored_ids() == []


def test_jwt_tokens_of_another_issuer_or_expired_are_refused(
    jwt_service: Service, issuer: TestIssuer
) -> None:
    stranger = TestIssuer(kid=issuer.kid)
    for token in (stranger.token(), issuer.token(exp=int(time.time()) - 3600)):
        assert_unauthorized(jwt_service.post(headers=bearer(token)), auth.MESSAGE_BAD_TOKEN)


def test_jwt_a_valid_token_passes_and_health_stays_public(
    jwt_service: Service, issuer: TestIssuer
) -> None:
    created = jwt_service.post(headers=bearer(issuer.token("alice")))
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    listed = jwt_service.get("/getEpoch", headers=bearer(issuer.token("bob")))
    assert [item["id"] for item in listed.json()["items"]] == [item_id]
    assert jwt_service.get(f"/getEpoch/{item_id}", headers=bearer(issuer.token())).ok
    assert jwt_service.get("/health").status_code == 200
    # Methods a path does not serve stay a 405, as the deployed ANY methods answer.
    assert jwt_service.get("/EpochRegisterTime").status_code == 405


def test_jwt_idempotency_keys_are_scoped_to_the_caller(
    jwt_service: Service, issuer: TestIssuer
) -> None:
    key = {contract.IDEMPOTENCY_HEADER: "order-00000001"}
    alice = jwt_service.post(headers={**key, **bearer(issuer.token("alice"))})
    again = jwt_service.post(headers={**key, **bearer(issuer.token("alice"))})
    bob = jwt_service.post(headers={**key, **bearer(issuer.token("bob"))})
    assert (alice.status_code, again.status_code, bob.status_code) == (201, 200, 201)
    assert again.json() == alice.json()
    # Bob's request with Alice's key is his own registration, not Alice's.
    assert bob.json()["id"] != alice.json()["id"]
    assert sorted(jwt_service.stored_ids()) == sorted([alice.json()["id"], bob.json()["id"]])


def test_api_key_requests_without_a_known_key_are_refused(key_service: Service) -> None:
    for headers in ({}, {auth.API_KEY_HEADER: "c" * 40}, {auth.API_KEY_HEADER: ""}):
        assert_unauthorized(key_service.post(headers=headers), auth.MESSAGE_BAD_KEY)
    assert key_service.get("/health").status_code == 200
    assert key_service.stored_ids() == []


def test_api_key_idempotency_keys_are_scoped_to_the_key(key_service: Service) -> None:
    key = {contract.IDEMPOTENCY_HEADER: "order-00000001"}
    first = key_service.post(headers={**key, auth.API_KEY_HEADER: KEY_A})
    again = key_service.post(headers={**key, "X-Api-Key": KEY_A})
    other = key_service.post(headers={**key, auth.API_KEY_HEADER: KEY_B})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]


def test_the_handlers_refuse_a_request_without_a_caller_when_auth_is_on(
    dynalite: Dynalite,
) -> None:
    # No gate: as if the API were deployed without its authorizer.
    service = start_service(dynalite.endpoint_url, auth_mode=auth.AUTH_JWT)
    try:
        response = service.post()
        assert response.status_code == 401
        assert response.json()["error"]["code"] == auth.ERROR_UNAUTHORIZED
        assert service.stored_ids() == []
        assert service.get("/health").status_code == 200
    finally:
        service.stop()


def test_openapi_json_shows_the_security_scheme(key_service: Service) -> None:
    document = key_service.get("/openapi.json").json()
    assert document["components"]["securitySchemes"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": auth.API_KEY_HEADER}
    }
    assert document["paths"]["/EpochRegisterTime"]["post"]["security"] == [{"apiKey": []}]


# --- `python -m local_api` with an auth setting ---------------------------------------


def settings_file(tmp_path: Path, api_lines: str, extra: str = "") -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(
        'domain_name = "epochregister.example.com"\n'
        'hosted_zone_id = "Z0123456789EXAMPLE0AB"\n'
        f"[api]\n{api_lines}\n{extra}",
        encoding="utf-8",
    )
    return path


def run_local(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_api", "--data-dir", str(tmp_path / "data"), *args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    return process, stderr_path


@pytest.mark.slow
def test_local_mode_applies_the_settings_jwt_auth(tmp_path: Path, issuer: TestIssuer) -> None:
    settings = settings_file(
        tmp_path,
        'auth = "jwt"',
        f'[api.jwt]\nissuer = "{ISSUER}"\naudience = "{AUDIENCE}"\n',
    )
    port = free_port()
    jwks = issuer.write_jwks(tmp_path / "jwks.json")
    process, stderr_path = run_local(
        tmp_path, "--port", str(port), "--settings", str(settings), "--jwks-file", str(jwks)
    )
    try:
        deadline = time.monotonic() + 30
        while "Ctrl-C" not in stderr_path.read_text():
            assert process.poll() is None, stderr_path.read_text()
            assert time.monotonic() < deadline, "local mode did not start"
            time.sleep(0.05)
        assert "Authentication: jwt" in stderr_path.read_text()
        url = f"http://127.0.0.1:{port}"
        refused = requests.post(f"{url}/EpochRegisterTime", timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == auth.ERROR_UNAUTHORIZED
        accepted = requests.post(
            f"{url}/EpochRegisterTime", headers=bearer(issuer.token()), timeout=10
        )
        assert accepted.status_code == 201, accepted.text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0, stderr_path.read_text()


@pytest.mark.parametrize(
    ("api_lines", "extra", "args", "expected"),
    [
        (
            'auth = "api_key"',
            "[api.api_key.clients.acme]\n",
            [],
            'error: the settings say api.auth = "api_key": give the keys local mode accepts '
            "with --api-keys-file FILE (a JSON object name -> value)",
        ),
        (
            'auth = "none"',
            "",
            ["--jwks-file", "jwks.json"],
            'error: --jwks-file is for api.auth = "jwt"; the settings say "none"',
        ),
        (
            'auth = "api_key"',
            "[api.api_key.clients.acme]\n",
            ["--api-keys-file", "missing.json"],
            "error: cannot read the API keys file missing.json: No such file or directory",
        ),
        (
            'auth = "jwt"',
            "",
            [],
            'error: {settings}: api.jwt.issuer: required when auth = "jwt"\n'
            'error: {settings}: api.jwt.audience: required when auth = "jwt"',
        ),
    ],
)
def test_auth_options_that_do_not_fit_the_settings_are_one_line_each(
    tmp_path: Path, api_lines: str, extra: str, args: list[str], expected: str
) -> None:
    settings = settings_file(tmp_path, api_lines, extra)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_api",
            "--data-dir",
            str(tmp_path / "data"),
            "--settings",
            str(settings),
            *args,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == expected.format(settings=settings) + "\n"
    assert not (tmp_path / "data").exists()


def test_api_keys_file_has_the_terraform_output_shape(tmp_path: Path) -> None:
    from local_api.auth import LocalAuthError, api_keys_from_file

    good = tmp_path / "keys.json"
    good.write_text(json.dumps({"acme/1": KEY_A}))
    assert api_keys_from_file(good) == {"acme/1": KEY_A}
    for bad in ({}, {"acme/1": "short"}, ["x"]):
        good.write_text(json.dumps(bad))
        with pytest.raises(LocalAuthError, match="api_key_values"):
            api_keys_from_file(good)
