"""The set-up a newcomer runs: scripts/test.sh and the Node tools' install."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


def python_without_site_packages(tmp_path: Path) -> Path:
    """A folder whose `python` is this interpreter without site-packages (-S): first on
    PATH, it stands for an interpreter without the project's packages."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    shim.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("script", "tools"), [("test", "test tools"), ("lint", "lint tools")])
def test_a_dev_command_without_dev_packages_says_what_to_run(
    tmp_path: Path, script: str, tools: str
) -> None:
    # As after `pipenv sync` without --dev: a `python` that cannot see the
    # virtualenv's packages, and the virtualenv's bin folder (ruff, mypy, pytest)
    # left off PATH. The script must stop before installing or running anything
    # (lint said bash's "ruff: command not found", exit 127).
    bin_dir = python_without_site_packages(tmp_path)
    command = tomllib.loads((PROJECT_ROOT / "Pipfile").read_text())["scripts"][script]
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin]
    result = subprocess.run(
        shlex.split(command),
        cwd=PROJECT_ROOT,
        env={**os.environ, "PATH": os.pathsep.join([str(bin_dir), *path])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"error: the {tools} are not installed: run `pipenv sync --dev` first\n"


def test_every_node_package_with_install_scripts_has_a_recorded_decision() -> None:
    # npm 11 skips dependency install scripts unless package.json's allowScripts
    # decides, and warns on every `npm ci` about each undecided one.
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    with_scripts = {
        path.rpartition("node_modules/")[2]
        for path, entry in lock["packages"].items()
        if entry.get("hasInstallScript") and path
    }
    decided = json.loads((PROJECT_ROOT / "package.json").read_text())["allowScripts"]
    assert with_scripts
    assert with_scripts <= set(decided)


# AWS credentials from the environment, as a CI job's configure-aws-credentials step sets them.
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "AKIAFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}


def run_cdktf_wrapper(
    tmp_path: Path, path: str, aws: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    # Only what the wrapper needs is on PATH (no system folder that might hold a
    # terraform); npx is a stub that records it ran: the check must stop before it.
    # AWS credentials come only from `aws`: no profile files, no instance metadata.
    aws_env = {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **(FAKE_AWS if aws is None else aws),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("dirname",):
        (tools / name).symlink_to(shutil.which(name) or name)
    (tools / "npx").write_text(f'#!/bin/sh\necho "npx $*" > "{tmp_path}/npx-ran"\n')
    (tools / "npx").chmod(0o755)
    python_dir = str(Path(sys.executable).parent)
    return subprocess.run(
        [shutil.which("bash") or "bash", str(PROJECT_ROOT / "scripts" / "cdktf.sh"), "diff", *args],
        env={
            **base,
            **aws_env,
            "PATH": os.pathsep.join(p for p in (str(tools), path, python_dir) if p),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def fake_terraform(folder: Path, version: str) -> None:
    folder.mkdir()
    script = folder / "terraform"
    script.write_text(f'#!/bin/sh\necho \'{{"terraform_version": "{version}"}}\'\n')
    script.chmod(0o755)


def test_diff_and_deploy_without_terraform_stop_in_one_line(tmp_path: Path) -> None:
    result = run_cdktf_wrapper(tmp_path, path="")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: Terraform CLI not found on PATH: install Terraform >= 1.10"
    )
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "npx-ran").exists()


def test_diff_and_deploy_with_an_old_terraform_stop_in_one_line(tmp_path: Path) -> None:
    fake_terraform(tmp_path / "old", "1.9.8")
    result = run_cdktf_wrapper(tmp_path, path=str(tmp_path / "old"))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: Terraform 1.9.8 at {tmp_path / 'old' / 'terraform'} is too old: "
        "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) "
        "and put `terraform` on PATH\n"
    )
    assert not (tmp_path / "npx-ran").exists()


def test_diff_and_deploy_with_terraform_1_10_go_on_to_the_next_check(tmp_path: Path) -> None:
    fake_terraform(tmp_path / "new", "1.10.0")
    result = run_cdktf_wrapper(tmp_path, path=str(tmp_path / "new"))
    # Terraform passed; the next check refuses settings.toml's examples (tests/test_ops.py
    # follows a deploy through to cdktf).
    assert result.stderr.startswith("error: the settings still hold example values"), result.stderr


def test_diff_and_deploy_without_aws_credentials_stop_in_one_line(tmp_path: Path) -> None:
    """Terraform's own answer is a block of backend errors after ~15 s of metadata retries."""
    fake_terraform(tmp_path / "new", "1.11.4")
    result = run_cdktf_wrapper(tmp_path, str(tmp_path / "new"), {})
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: no AWS credentials found: diff, deploy, bootstrap and teardown need them; "
        "set AWS_PROFILE "
        "(a profile from `aws configure`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(see docs/deploying.md)\n"
    )
    assert not (tmp_path / "npx-ran").exists()


def test_diff_and_deploy_with_an_unknown_aws_profile_stop_in_one_line(tmp_path: Path) -> None:
    fake_terraform(tmp_path / "new", "1.11.4")
    result = run_cdktf_wrapper(tmp_path, str(tmp_path / "new"), {"AWS_PROFILE": "nope"})
    assert result.returncode == 1
    assert result.stderr == (
        "error: AWS_PROFILE=nope: The config profile (nope) could not be found; "
        "check the name in ~/.aws/config (`aws configure list-profiles`)\n"
    )
    assert not (tmp_path / "npx-ran").exists()


def test_diff_and_deploy_help_needs_no_aws_credentials(tmp_path: Path) -> None:
    fake_terraform(tmp_path / "new", "1.11.4")
    result = run_cdktf_wrapper(tmp_path, str(tmp_path / "new"), {}, "--help")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "npx-ran").read_text() == "npx cdktf diff --help\n"


def test_the_readme_states_the_python_version_the_pipfile_pins() -> None:
    # pipenv warns on every run when the interpreter differs from [requires].
    pinned = tomllib.loads((PROJECT_ROOT / "Pipfile").read_text())["requires"]["python_version"]
    assert (
        f"Prerequisites: Python {pinned} (the Pipfile pins it)"
        in (PROJECT_ROOT / "README.md").read_text()
    )
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == pinned
