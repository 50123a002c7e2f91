"""rehearsal.terraform: Terraform and mirror lookup, scratch copies, environment, diagnostics."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from epoch_ops.terraform_cli import INSTALL_HINT
from rehearsal import terraform as tf

PLATFORM = "linux_amd64"

STACK = {
    "provider": {
        "aws": [
            {"alias": "us_east_1", "region": "us-east-1"},
            {"alias": "us_west_2", "region": "us-west-2"},
        ]
    },
    "resource": {
        "aws_dynamodb_table": {
            "table": {"billing_mode": "SOMETIMES", "name": "t"},
        },
    },
    "data": {"aws_caller_identity": {"account": {}}},
    "terraform": {
        "backend": {"s3": {"bucket": "b", "key": "k", "region": "us-east-1"}},
        "required_providers": {"aws": {"source": "aws", "version": "6.25.0"}},
    },
}


def write_stack(folder: Path, stack: dict[str, object] = STACK) -> Path:
    folder.mkdir(parents=True)
    (folder / tf.STACK_FILE).write_text(json.dumps(stack, indent=2), encoding="utf-8")
    return folder


def mirror_with(root: Path, *versions: str) -> Path:
    for version in versions:
        (root / tf.PROVIDER / version / PLATFORM).mkdir(parents=True)
    return root


def fake_terraform(folder: Path, version: str) -> None:
    """An executable answering `terraform version -json` with `version`."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "terraform"
    answer = json.dumps({"terraform_version": version, "platform": PLATFORM})
    script.write_text(f"#!/bin/sh\necho '{answer}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_missing_terraform_is_one_line_saying_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(tf.TerraformError) as raised:
        tf.find_terraform({"PATH": str(tmp_path)})
    assert str(raised.value) == f"Terraform CLI not found on PATH: {INSTALL_HINT}"


def test_terraform_older_than_1_10_is_refused(tmp_path: Path) -> None:
    fake_terraform(tmp_path, "1.9.8")
    with pytest.raises(tf.TerraformError, match=r"^Terraform 1\.9\.8 at .* is too old: install"):
        tf.find_terraform({"PATH": str(tmp_path)})


def test_terraform_version_and_platform_are_read(tmp_path: Path) -> None:
    fake_terraform(tmp_path, "1.10.0")
    found = tf.find_terraform({"PATH": str(tmp_path)})
    assert (found.version, found.platform, found.path) == (
        (1, 10, 0),
        PLATFORM,
        tmp_path / "terraform",
    )


def test_mirror_env_override_wins_and_reads_both_layouts(tmp_path: Path) -> None:
    root = mirror_with(tmp_path / "mirror", "5.9.0", "5.100.0")
    (root / tf.PROVIDER / f"terraform-provider-aws_6.1.0_{PLATFORM}.zip").write_bytes(b"")
    # A version for another platform only does not count.
    (root / tf.PROVIDER / "7.0.0" / "darwin_arm64").mkdir(parents=True)
    mirror = tf.find_provider_mirror(PLATFORM, {tf.MIRROR_ENV: str(root), "HOME": str(tmp_path)})
    assert mirror == tf.ProviderMirror(root=root, versions=("5.9.0", "5.100.0", "6.1.0"))
    assert mirror.version_for("6.25.0") == "6.1.0"
    assert mirror.version_for("5.9.0") == "5.9.0"


def test_mirror_env_override_without_the_provider_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(tf.TerraformError) as raised:
        tf.find_provider_mirror(PLATFORM, {tf.MIRROR_ENV: str(tmp_path)})
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"{tf.MIRROR_ENV}={tmp_path} holds no {tf.PROVIDER}/")


def test_mirror_env_none_means_the_registry(tmp_path: Path) -> None:
    mirror_with(tmp_path / ".terraform.d" / "plugins", "5.100.0")
    assert tf.find_provider_mirror(PLATFORM, {tf.MIRROR_ENV: "none", "HOME": str(tmp_path)}) is None


def test_standard_plugin_dirs_are_searched(tmp_path: Path) -> None:
    root = mirror_with(tmp_path / ".terraform.d" / "plugins", "5.100.0")
    env = {"HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path / "none")}
    assert tf.find_provider_mirror(PLATFORM, env) == tf.ProviderMirror(root, ("5.100.0",))


def test_cli_config_installs_aws_from_the_mirror_only(tmp_path: Path) -> None:
    mirror = tf.ProviderMirror(root=tmp_path / "my mirror", versions=("5.100.0",))
    text = tf.write_cli_config(mirror, tmp_path).read_text(encoding="utf-8")
    assert f'path    = "{tmp_path}/my mirror"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_workspace_is_a_copy_changed_only_by_override_files(tmp_path: Path) -> None:
    source = write_stack(tmp_path / "stacks" / "root")
    (source / "assets").mkdir()
    (source / "assets" / "a.zip").write_bytes(b"zip")
    (source / "terraform.root.tfstate").write_text("{}", encoding="utf-8")
    (source / ".terraform").mkdir()
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    mirror = tf.ProviderMirror(root=tmp_path, versions=("5.100.0",))

    workspace = tf.prepare_workspace(
        source,
        tmp_path / "scratch",
        mirror=mirror,
        backend="local",
        provider_settings={"skip_credentials_validation": True},
        overrides={"endpoints_override.tf.json": {"locals": {"x": 1}}},
    )

    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
    copied = workspace.path
    assert (copied / tf.STACK_FILE).read_bytes() == (source / tf.STACK_FILE).read_bytes()
    assert (copied / "assets" / "a.zip").read_bytes() == b"zip"
    assert not (copied / "terraform.root.tfstate").exists()
    assert not (copied / ".terraform").exists()
    assert workspace.judged_by == "bindings 6.25.0 judged by provider 5.100.0"

    def override(name: str) -> object:
        return json.loads((copied / name).read_text(encoding="utf-8"))

    assert override(tf.PIN_OVERRIDE) == {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}}
    }
    assert override(tf.BACKEND_OVERRIDE) == {
        "terraform": {"backend": {"local": {"path": "terraform.tfstate"}}}
    }
    # One entry per aliased provider block: Terraform matches overrides by alias.
    assert override(tf.PROVIDER_OVERRIDE) == {
        "provider": {
            "aws": [
                {"skip_credentials_validation": True, "alias": "us_east_1"},
                {"skip_credentials_validation": True, "alias": "us_west_2"},
            ]
        }
    }
    assert override("endpoints_override.tf.json") == {"locals": {"x": 1}}


def test_workspace_keeps_backend_and_pin_without_mirror(tmp_path: Path) -> None:
    source = write_stack(tmp_path / "root")
    workspace = tf.prepare_workspace(source, tmp_path / "scratch", mirror=None, backend="keep")
    assert workspace.override_files == ()
    assert workspace.judged_by == "bindings 6.25.0 judged by provider 6.25.0"


ENCRYPTED = {
    **STACK,
    "resource": {
        "aws_s3_bucket_server_side_encryption_configuration": {
            "state": {
                "bucket": "b",
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                        "blocked_encryption_types": ["SSE-C"],
                        "bucket_key_enabled": True,
                    }
                ],
            },
            "other": {"bucket": "c", "rule": [{"bucket_key_enabled": True}]},
        }
    },
}


def test_a_6x_only_argument_is_taken_out_for_an_older_provider_and_named(tmp_path: Path) -> None:
    source = write_stack(tmp_path / "root", ENCRYPTED)
    mirror = tf.ProviderMirror(root=tmp_path, versions=("5.100.0",))
    workspace = tf.prepare_workspace(source, tmp_path / "scratch", mirror=mirror, backend="keep")
    override = json.loads((workspace.path / tf.NEWER_ONLY_OVERRIDE).read_text(encoding="utf-8"))
    # The whole `rule` block is replaced (overrides replace nested blocks), the rest kept.
    assert override == {
        "resource": {
            "aws_s3_bucket_server_side_encryption_configuration": {
                "state": {
                    "rule": [
                        {
                            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                            "bucket_key_enabled": True,
                        }
                    ]
                }
            }
        }
    }
    assert workspace.stripped == (
        "aws_s3_bucket_server_side_encryption_configuration.state: "
        "rule.blocked_encryption_types (6.22-6.39 diff on every plan without it "
        "(terraform-provider-aws #47320))",
    )
    assert "1 6.x-only argument(s) taken out: aws_s3_bucket_server" in workspace.judged_by


@pytest.mark.parametrize("version", ["6.22.0", "6.25.0"])
def test_a_provider_that_knows_the_argument_keeps_it(tmp_path: Path, version: str) -> None:
    source = write_stack(tmp_path / "root", ENCRYPTED)
    mirror = tf.ProviderMirror(root=tmp_path, versions=(version,))
    workspace = tf.prepare_workspace(source, tmp_path / "scratch", mirror=mirror, backend="keep")
    assert workspace.stripped == ()
    assert not (workspace.path / tf.NEWER_ONLY_OVERRIDE).exists()


def test_workspace_refuses_a_non_override_file_name(tmp_path: Path) -> None:
    source = write_stack(tmp_path / "root")
    with pytest.raises(tf.TerraformError, match=r"must end in _override\.tf\.json"):
        tf.prepare_workspace(
            source,
            tmp_path / "scratch",
            mirror=None,
            backend="keep",
            overrides={"extra.tf.json": {}},
        )


def test_environment_has_fake_credentials_and_nothing_of_the_callers_aws(tmp_path: Path) -> None:
    base = {
        "PATH": "/bin",
        "AWS_PROFILE": "prod",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_ENDPOINT_URL": "https://example.com",
        "TF_VAR_x": "1",
        "TF_CLI_ARGS_plan": "-destroy",
        "TF_LOG": "info",
    }
    env = tf.terraform_env(tmp_path / "rc", base=base, extra={"AWS_ENDPOINT_URL_STS": "http://x"})
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "rc")
    assert env["AWS_ENDPOINT_URL_STS"] == "http://x"
    for dropped in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "TF_VAR_x", "TF_CLI_ARGS_plan"):
        assert dropped not in env
    assert (env["PATH"], env["TF_LOG"], env["TF_INPUT"]) == ("/bin", "info", "0")


def test_run_stops_a_command_that_outlives_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(tf.TerraformError, match=r"did not finish within 0\.2 s"):
        tf.run(Path("/bin/sleep"), ["30"], cwd=tmp_path, env={}, timeout=0.2)
    assert time.monotonic() - started < 20  # stopped: `sleep 30` was not waited for


TABLE = "aws_dynamodb_table.table"


def test_diagnostics_get_the_address_of_their_line() -> None:
    text = json.dumps(STACK, indent=2)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "SOMETIMES" in s)
    diagnostics: list[dict[str, Any]] = [
        {
            "severity": "error",
            "summary": "expected billing_mode to be one of [...]",
            "detail": "",
            "range": {"filename": "cdk.tf.json", "start": {"line": line}},
        },
        {"severity": "warning", "summary": "no range", "detail": "d"},
    ]
    assert [tf.diagnostic_from_json(d, text) for d in diagnostics] == [
        tf.Diagnostic(
            "error", "expected billing_mode to be one of [...]", "", "aws_dynamodb_table.table"
        ),
        tf.Diagnostic("warning", "no range", "d", "(configuration)"),
    ]


def test_address_of_a_data_source_line() -> None:
    text = json.dumps(STACK, indent=2)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if '"account"' in s)
    assert tf.address_at_line(text, line) == "data.aws_caller_identity.account"
    assert tf.address_at_line(text, 1) is None


ACCOUNT = "data.aws_caller_identity.account"


def test_json_messages_and_their_diagnostics() -> None:
    lines = [
        json.dumps({"type": "version", "terraform": "1.11.4"}),
        "not a JSON message",
        json.dumps(
            {
                "type": "diagnostic",
                "diagnostic": {
                    "severity": "error",
                    "summary": "reading STS Caller Identity",
                    "detail": "",
                    "address": ACCOUNT,
                },
            }
        ),
    ]
    messages = tf.json_messages("\n".join(lines))
    assert [message["type"] for message in messages] == ["version", "diagnostic"]
    assert tf.diagnostic_from_json(messages[1]["diagnostic"], None) == tf.Diagnostic(
        "error", "reading STS Caller Identity", "", "data.aws_caller_identity.account"
    )
