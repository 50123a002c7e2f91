"""`pipenv run verify` against an API with authentication on: credentials come
from EPOCH_API_KEY / EPOCH_API_TOKEN, and the errors check adds the 401 a request
without them gets. Two local-mode "regions" share one key set, as the deployed
regions share each key's value."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers import auth
from local_api.auth import LocalGate, jwt_verifier
from local_api.server import LocalApi
from tests.tokens import AUDIENCE, ISSUER, TestIssuer
from tests.verify.conftest import EAST, WEST, RegionFactory
from tests.verify.support import endpoint_args, failures, run_verify, statuses
from verify.client import API_KEY_ENV, TOKEN_ENV

KEY = "verify-test-key-0123456789"


@pytest.fixture
def keyed_regions(serve_region: RegionFactory, table: str) -> dict[str, LocalApi]:
    regions = {EAST: serve_region(EAST, table), WEST: serve_region(WEST, table)}
    for api in regions.values():
        api.set_gate(LocalGate(auth.AUTH_API_KEY, api_keys={"acme/1": KEY}))
    return regions


def test_api_key_from_the_environment_passes_every_check(
    keyed_regions: dict[str, LocalApi],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(API_KEY_ENV, KEY)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, document = run_verify(capsys, *endpoint_args(keyed_regions))
    assert code == 0, failures(document)
    errors = [c for c in document["checks"] if c["check"] == "errors"]
    assert {c["figures"]["401"] for c in errors} == {401}
    assert all("401" in c["detail"] for c in errors)


def test_without_credentials_the_writes_fail(
    keyed_regions: dict[str, LocalApi],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, document = run_verify(
        capsys, *endpoint_args(keyed_regions), "--checks", "health,idempotency"
    )
    assert code == 1
    assert set(statuses(document, "health").values()) == {"pass"}
    assert "fail" in statuses(document, "idempotency").values()


def test_a_bearer_token_from_the_environment_passes(
    serve_region: RegionFactory,
    table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = TestIssuer()
    verifier = jwt_verifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=None,
        jwks_file=issuer.write_jwks(tmp_path / "jwks.json"),
    )
    regions = {EAST: serve_region(EAST, table), WEST: serve_region(WEST, table)}
    for api in regions.values():
        api.set_gate(LocalGate(auth.AUTH_JWT, verifier=verifier))
    monkeypatch.setenv(TOKEN_ENV, issuer.token("verify"))
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    code, document = run_verify(capsys, *endpoint_args(regions))
    assert code == 0, failures(document)
