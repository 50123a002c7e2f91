"""The deploy commands' checks (epoch_ops): example settings, the state backend, old state files.

The AWS side is the emulator (moto as a server on loopback), reached by the
commands' own boto3 calls through AWS_ENDPOINT_URL. Terraform and npx are stubs:
these tests stop before anything would run them, or check that it would have.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from epoch_app.phase import bootstrap_state_file
from epoch_ops import placeholders
from epoch_ops.preflight import extra_arguments, named_stacks
from epoch_settings import load_settings
from rehearsal.emulator import Emulator
from tests.conftest import PROJECT_ROOT

FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_the_example_values_are_settings_toml_s() -> None:
    example = tomllib.loads((PROJECT_ROOT / "settings.toml").read_text(encoding="utf-8"))
    assert example["domain_name"] == placeholders.EXAMPLE_DOMAIN
    assert example["hosted_zone_id"] == placeholders.EXAMPLE_ZONE
    assert example["remote_state"]["bucket"] == placeholders.EXAMPLE_BUCKET
    assert example["alarm_email"] == placeholders.EXAMPLE_EMAIL
    assert placeholders.placeholder_keys(load_settings(PROJECT_ROOT / "settings.toml")) == [
        "domain_name = epochregister.example.com",
        "hosted_zone_id = Z0123456789EXAMPLE0AB",
        "remote_state.bucket = epoch-register-tfstate-example",
        "alarm_email = oncall@example.com",
    ]


def write_settings(folder: Path, *, bucket: str, domain: str = "epoch.acme-corp.net") -> Path:
    path = folder / "prod.toml"
    path.write_text(
        f'domain_name = "{domain}"\n'
        'hosted_zone_id = "Z08151234ABCDEFGHIJK"\n'
        f'alarm_email = "oncall@{domain}"\n'
        f'[remote_state]\nbucket = "{bucket}"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("domain", "listed"),
    [
        ("epoch.acme-corp.net", []),
        ("api-team.example.org", ["domain_name", "alarm_email"]),
        ("epoch.test", ["domain_name", "alarm_email"]),
        ("notexample.com", []),
    ],
)
def test_reserved_domains_are_examples_too(tmp_path: Path, domain: str, listed: list[str]) -> None:
    settings = load_settings(write_settings(tmp_path, bucket="acme-tfstate", domain=domain))
    assert [key.split(" = ")[0] for key in placeholders.placeholder_keys(settings)] == listed


def test_the_stacks_a_command_line_names() -> None:
    assert named_stacks(["deploy", "epoch-register", "--auto-approve"]) == {"epoch-register"}
    assert named_stacks(["diff", "*"]) == {"remote-state", "epoch-register"}
    assert named_stacks(["deploy"]) == set()
    # The root stack alone: its dependency was checked to be bootstrapped.
    assert extra_arguments(["deploy", "epoch-register"]) == ["--ignore-missing-stack-dependencies"]
    assert extra_arguments(["deploy", "*", "--auto-approve"]) == []
    assert extra_arguments(["deploy", "remote-state"]) == []
    assert extra_arguments(["diff", "epoch-register"]) == []


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with Emulator(zones={}, log=log) as running:
        yield running


@pytest.fixture
def bucket(emulator: Emulator) -> Iterator[str]:
    """A fresh bucket name; its bootstrap state file (in the project folder) is removed after."""
    name = f"epoch-test-{uuid.uuid4().hex[:12]}"
    yield name
    for suffix in ("", ".backup", ".migrated"):
        Path(f"{bootstrap_state_file(name)}{suffix}").unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # only if empty: a user's own files stay
        bootstrap_state_file(name).parent.rmdir()


def s3(emulator: Emulator) -> object:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        **{"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
    )


def tools(folder: Path) -> Path:
    """A PATH folder with a Terraform 1.11 stub and an npx stub that records its arguments."""
    if folder.is_dir():
        return folder
    folder.mkdir()
    (folder / "terraform").write_text(
        '#!/bin/sh\necho \'{"terraform_version": "1.11.4", "platform": "linux_amd64"}\'\n'
    )
    (folder / "npx").write_text(f'#!/bin/sh\necho "npx $*" > "{folder}/npx-ran"\n')
    (folder / "dirname").symlink_to(shutil.which("dirname") or "dirname")
    for stub in ("terraform", "npx"):
        (folder / stub).chmod(0o755)
    return folder


def run_command(
    tmp_path: Path, args: list[str], *, settings: Path, emulator: Emulator | None = None
) -> subprocess.CompletedProcess[str]:
    """`pipenv run <args>` as the Pipfile runs it, with only the stubs and Python on PATH."""
    bin_dir = tools(tmp_path / "tools")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EPOCH_"))}
    env.update(FAKE_AWS)
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "EPOCH_SETTINGS": str(settings),
            "CDKTF_OUTDIR": str(tmp_path / "cdktf.out"),
            "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent)]),
        }
    )
    if emulator is not None:
        env["AWS_ENDPOINT_URL"] = emulator.url
    if args[0] in ("diff", "deploy"):
        command = [
            shutil.which("bash") or "bash",
            str(PROJECT_ROOT / "scripts" / "cdktf.sh"),
            *args,
        ]
    else:
        command = [sys.executable, "-m", f"epoch_ops.{args[0]}", *args[1:]]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("command", [["deploy", "epoch-register"], ["diff", "*"], ["bootstrap"]])
def test_example_settings_are_refused_in_one_line_before_any_aws_call(
    tmp_path: Path, command: list[str]
) -> None:
    result = run_command(tmp_path, command, settings=PROJECT_ROOT / "settings.toml")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: the settings still hold example values (domain_name = epochregister.example.com; "
        "hosted_zone_id = Z0123456789EXAMPLE0AB; remote_state.bucket = "
        "epoch-register-tfstate-example; alarm_email = oncall@example.com): set your own"
    )
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "tools" / "npx-ran").exists()


def test_a_deploy_before_the_bootstrap_says_to_bootstrap(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    settings = write_settings(tmp_path, bucket=bucket)
    result = run_command(
        tmp_path, ["deploy", "epoch-register"], settings=settings, emulator=emulator
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: state bucket {bucket} does not exist yet: run `pipenv run bootstrap` once "
        "first; it creates the bucket and keeps the bootstrap stack's state in it "
        "(docs/deploying.md)\n"
    )
    assert not (tmp_path / "tools" / "npx-ran").exists()


def test_an_unfinished_bootstrap_is_named_and_the_root_stack_may_go_on(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    s3(emulator).create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    local = bootstrap_state_file(bucket)
    local.parent.mkdir(exist_ok=True)
    local.write_text('{"version": 4, "resources": [{}]}')
    settings = write_settings(tmp_path, bucket=bucket)
    refused = run_command(
        tmp_path, ["deploy", "remote-state"], settings=settings, emulator=emulator
    )
    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: the bootstrap stack's state is still in {local}, not yet in "
        f"s3://{bucket}/remote-state/epoch-register.tfstate: run `pipenv run bootstrap` "
        "to finish (it moves the state into the bucket)\n"
    )
    allowed = run_command(
        tmp_path, ["diff", "epoch-register"], settings=settings, emulator=emulator
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "tools" / "npx-ran").read_text() == "npx cdktf diff epoch-register\n"


def test_a_bootstrapped_backend_lets_both_stacks_deploy(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    client = s3(emulator)
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    client.put_object(Bucket=bucket, Key="remote-state/epoch-register.tfstate", Body=b"{}")  # type: ignore[attr-defined]
    settings = write_settings(tmp_path, bucket=bucket)
    result = run_command(
        tmp_path, ["deploy", "*", "--auto-approve"], settings=settings, emulator=emulator
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "tools" / "npx-ran").read_text() == "npx cdktf deploy * --auto-approve\n"
    already = run_command(tmp_path, ["bootstrap"], settings=settings, emulator=emulator)
    assert already.returncode == 0, already.stderr
    assert already.stdout.startswith(
        f"already bootstrapped: the remote-state stack's state is in s3://{bucket}/"
    )


def test_state_where_earlier_versions_kept_it_is_moved_out_of_cdktf_out(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    """The reproduction of issue 18: that file was deleted by the next synth."""
    legacy = tmp_path / "cdktf.out" / "stacks" / "remote-state" / "terraform.remote-state.tfstate"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"version": 4, "serial": 7}')
    Path(f"{legacy}.backup").write_text('{"version": 4, "serial": 6}')
    s3(emulator).create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    settings = write_settings(tmp_path, bucket=bucket)
    result = run_command(tmp_path, ["diff", "epoch-register"], settings=settings, emulator=emulator)
    local = bootstrap_state_file(bucket)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"note: moved the bootstrap stack's state from {legacy} (the next synth would have "
        f"deleted it) to {local}\n"
    )
    assert local.read_text() == '{"version": 4, "serial": 7}'
    assert Path(f"{local}.backup").read_text() == '{"version": 4, "serial": 6}'
    assert not legacy.exists()


def test_two_bootstrap_state_files_stop_and_both_are_kept(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    legacy = tmp_path / "cdktf.out" / "stacks" / "remote-state" / "terraform.remote-state.tfstate"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("old place")
    local = bootstrap_state_file(bucket)
    local.parent.mkdir(exist_ok=True)
    local.write_text("new place")
    settings = write_settings(tmp_path, bucket=bucket)
    result = run_command(tmp_path, ["deploy", "remote-state"], settings=settings, emulator=emulator)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: two state files for the bootstrap stack: {legacy} (where earlier versions"
    )
    assert (legacy.read_text(), local.read_text()) == ("old place", "new place")


def test_bootstrap_refuses_a_bucket_whose_state_is_nowhere(
    tmp_path: Path, emulator: Emulator, bucket: str
) -> None:
    s3(emulator).create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    settings = write_settings(tmp_path, bucket=bucket)
    result = run_command(tmp_path, ["bootstrap"], settings=settings, emulator=emulator)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: state bucket {bucket} exists, but neither s3://{bucket}/remote-state/"
    )
    assert not (tmp_path / "tools" / "npx-ran").exists()


def test_teardown_wants_the_app_name_typed_out(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, bucket="acme-tfstate")
    result = run_command(tmp_path, ["teardown", "--confirm", "epoch"], settings=settings)
    assert result.returncode == 1
    assert result.stderr == (
        "error: --confirm epoch is not this deployment's app_name (epoch-register): "
        "type it out to destroy it\n"
    )
