"""The Terraform CLI the cdktf CLI will run, and the AWS credentials it will find."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The S3 backend's `use_lockfile` (S3-native state locking) needs Terraform 1.10.
MIN_TERRAFORM = (1, 10, 0)
INSTALL_HINT = (
    "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) "
    "and put `terraform` on PATH"
)
# The cdktf CLI runs the executable this names instead of `terraform` (e.g. OpenTofu's
# `tofu`); the commands here run the same one.
BINARY_ENV = "TERRAFORM_BINARY_NAME"


class TerraformError(Exception):
    """Terraform cannot be used as asked; the message is one line saying what to do."""


@dataclass(frozen=True)
class TerraformCli:
    """The Terraform executable found, with its version and platform (e.g. linux_amd64)."""

    path: Path
    version: tuple[int, int, int]
    platform: str

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


def find_terraform(env: Mapping[str, str] | None = None) -> TerraformCli:
    """The Terraform cdktf would run ($TERRAFORM_BINARY_NAME, else `terraform` on PATH),
    checked to be at least MIN_TERRAFORM."""
    env = os.environ if env is None else env
    name = env.get(BINARY_ENV) or "terraform"
    found = shutil.which(name, path=env.get("PATH"))
    if found is None:
        where = f"{BINARY_ENV}={name}" if env.get(BINARY_ENV) else "Terraform CLI"
        raise TerraformError(f"{where} not found on PATH: {INSTALL_HINT}")
    try:
        completed = subprocess.run(
            [found, "version", "-json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, "CHECKPOINT_DISABLE": "1"},
            check=False,
        )
        info = json.loads(completed.stdout)
        text = str(info["terraform_version"])
        # Only the mirror lookup needs it; a mirror for another platform is not used.
        platform = str(info.get("platform", "unknown"))
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError) as error:
        raise TerraformError(
            f"{found} did not report its version ({type(error).__name__}): {INSTALL_HINT}"
        ) from error
    version = parse_version(text)
    if version is None or version < MIN_TERRAFORM:
        raise TerraformError(f"Terraform {text} at {found} is too old: {INSTALL_HINT}")
    return TerraformCli(path=Path(found), version=version, platform=platform)


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def aws_credentials_problem() -> str | None:
    """Why `cdktf diff|deploy` would find no AWS credentials, or None if botocore finds some.

    botocore looks where Terraform's AWS SDK looks (environment, profiles, SSO,
    web identity, container and instance metadata), so a miss here is a miss there,
    where it costs ~15 s of metadata retries and a block of backend errors.
    """
    import botocore.session
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        credentials = botocore.session.Session().get_credentials()
    except ProfileNotFound as error:
        return (
            f"AWS_PROFILE={os.environ.get('AWS_PROFILE', '')}: {error}; "
            "check the name in ~/.aws/config (`aws configure list-profiles`)"
        )
    except BotoCoreError as error:
        return f"cannot load AWS credentials: {error}"
    if credentials is None:
        return (
            "no AWS credentials found: diff, deploy, bootstrap and teardown need them; "
            "set AWS_PROFILE "
            "(a profile from `aws configure`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(see docs/deploying.md)"
        )
    return None
