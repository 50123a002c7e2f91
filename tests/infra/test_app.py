"""The app wiring: stacks, backend, dependency and the safe output swap."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from epoch_app import app as app_module
from epoch_constructs.stack import STACK_NAME as ROOT
from handlers import contract
from remote_state.stack import STACK_NAME as STATE
from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import Synthesized


def test_both_stacks_are_synthesized(default_app: Synthesized) -> None:
    manifest = json.loads((default_app.outdir / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {STATE, ROOT}


def test_root_stack_depends_on_remote_state(default_app: Synthesized) -> None:
    manifest = json.loads((default_app.outdir / "manifest.json").read_text())
    assert manifest["stacks"][ROOT]["dependencies"] == [STATE]


def test_root_backend_is_the_bootstrap_bucket_with_both_locks(default_app: Synthesized) -> None:
    s3 = default_app.stack(ROOT)["terraform"]["backend"]["s3"]
    settings = default_app.settings
    assert s3["bucket"] == settings.remote_state.bucket
    assert s3["dynamodb_table"] == settings.remote_state.lock_table
    assert s3["key"] == settings.remote_state.state_key
    assert s3["region"] == settings.primary_region
    assert s3["encrypt"] is True
    # Under the bootstrap stack's key, not SSE-S3 (what `encrypt` alone asks for).
    (alias,) = default_app.resources(STATE, "aws_kms_alias").values()
    assert s3["kms_key_id"] == alias["name"]
    assert s3["use_lockfile"] is True


# What Terraform >= 1.11 prints for a backend that sets both (checked with 1.11.4).
DEPRECATION_WARNING = 'The parameter "dynamodb_table" is deprecated'


def test_the_backend_deprecation_warning_is_explained_to_users(default_app: Synthesized) -> None:
    # Keeping the lock table is deliberate: the docs must say so where the warning shows.
    s3 = default_app.stack(ROOT)["terraform"]["backend"]["s3"]
    assert "dynamodb_table" in s3
    assert s3["use_lockfile"] is True
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    explained = [
        page
        for page in pages
        if DEPRECATION_WARNING in " ".join(page.read_text(encoding="utf-8").split())
        and "lock table" in page.read_text(encoding="utf-8")
    ]
    assert explained, f"no page quotes {DEPRECATION_WARNING!r} and explains the lock table"


def test_one_aliased_provider_per_region_with_default_tags(default_app: Synthesized) -> None:
    providers = default_app.stack(ROOT)["provider"]["aws"]
    assert [p["region"] for p in providers] == list(default_app.settings.regions)
    assert all(p["alias"] == p["region"].replace("-", "_") for p in providers)
    for provider in providers:
        tags = provider["default_tags"][0]["tags"]
        assert tags["app"] == default_app.settings.app_name
        assert tags.items() >= default_app.settings.tags.items()


def test_output_is_deterministic_and_has_no_absolute_paths(default_app: Synthesized) -> None:
    for stack in (STATE, ROOT):
        text = default_app.stack_text(stack)
        assert str(default_app.outdir) not in text
        assert str(Path.cwd()) not in text
        assert "/tmp" not in text


def test_failed_synth_leaves_previous_output_untouched(
    default_app: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir()
    (outdir / "previous.txt").write_text("kept")

    def broken_build(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("synth failed half-way")

    monkeypatch.setattr(app_module, "build_app", broken_build)
    with pytest.raises(RuntimeError):
        app_module.synth_to(default_app.settings, outdir)
    assert (outdir / "previous.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_synth_replaces_previous_output(default_app: Synthesized, tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir()
    (outdir / "stale.txt").write_text("stale")
    app_module.synth_to(default_app.settings, outdir)
    assert not (outdir / "stale.txt").exists()
    assert (outdir / "stacks" / ROOT / "cdk.tf.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_openapi_document_must_match_the_contract() -> None:
    from epoch_constructs.region_frontend.openapi import (
        ContractMismatchError,
        api_definition,
        load_openapi,
    )

    document = load_openapi()
    arns = {function: f"arn:{function}" for function in contract.FUNCTION_HANDLERS}
    assert "x-amazon-apigateway-gateway-responses" in api_definition(document, arns)
    broken = {**document, "paths": {k: v for k, v in document["paths"].items() if k != "/health"}}
    with pytest.raises(ContractMismatchError, match="only in the contract"):
        api_definition(broken, arns)


def test_unreadable_openapi_document_is_a_clean_error(tmp_path: Path) -> None:
    from epoch_constructs.region_frontend.openapi import ContractMismatchError, load_openapi

    (tmp_path / "openapi.json").write_text("{not json")
    with pytest.raises(ContractMismatchError, match="cannot read the OpenAPI document"):
        load_openapi(tmp_path / "openapi.json")


def test_the_output_folder_has_the_usual_permissions(
    default_app: Synthesized, tmp_path: Path
) -> None:
    """As `mkdir` would make it (the umask's mode), not the private 0700 of a temporary folder."""
    outdir = tmp_path / "cdktf.out"
    app_module.synth_to(default_app.settings, outdir)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(outdir.stat().st_mode) == 0o777 & ~umask
