"""The user-path variant: docs/deploying.md's commands as written, in a fresh copy of the project.

No scratch copies and no Terraform called by the harness: `pipenv run synth`,
`pipenv run bootstrap`, `pipenv run deploy epoch-register`, `pipenv run synth`
again, `pipenv run diff` of both stacks (each must say "No changes"), then
`pipenv run teardown` (docs/teardown.md), all through the real Pipfile scripts and
cdktf CLI against the emulator. What differs from a real account (docs/rehearsal.md):
the emulator's endpoint and fake credentials in the environment, `--auto-approve`
(no one at a terminal), and the Terraform cdktf runs is rehearsal/mirror_terraform.py
(cdktf's own TERRAFORM_BINARY_NAME switch), which adds the gates' override files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from epoch_app.phase import bootstrap_state_file
from epoch_settings import Settings
from epoch_settings.loader import load_settings
from rehearsal.deploy import FAKE_CREDENTIALS, Rehearsal, StepError, tail
from rehearsal.emulator import PROJECT_ROOT, Emulator
from rehearsal.mirror_terraform import (
    LOG_ENV,
    MIRROR_ROOT_ENV,
    PLATFORM_ENV,
    TERRAFORM_ENV,
)
from rehearsal.readback import check_deployment
from rehearsal.terraform import Result

COMMAND_TIMEOUT = 1200.0
# Step 1 of docs/deploying.md: a copy of settings.toml with these four set.
OWN_VALUES = {
    "domain_name": "epoch.acme-rehearsal.net",
    "hosted_zone_id": "Z08REHEARSALUSERPATH",
    "alarm_email": "oncall@acme-rehearsal.net",
}
OWN_BUCKET = "acme-rehearsal-epoch-tfstate"
SETTINGS_FILE = "prod.toml"
DEPRECATED_LOCK_TABLE = re.compile(r'parameter "dynamodb_table" is deprecated', re.I)
# cdktf colours Terraform's output even when it is not a terminal.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NO_CHANGES = re.compile(r"No changes\. Your infrastructure matches the configuration\.")


def own_settings(example: str) -> str:
    """settings.toml's text with the four values step 1 says to set, the rest as it is."""
    text = example
    for key, value in OWN_VALUES.items():
        text, count = re.subn(rf'^{key} = ".*"$', f'{key} = "{value}"', text, flags=re.M)
        if count != 1:
            raise StepError(f"settings.toml has no single `{key} = ...` line to set")
    text, count = re.subn(r'^bucket = ".*"$', f'bucket = "{OWN_BUCKET}"', text, flags=re.M)
    if count != 1:
        raise StepError("settings.toml has no single `bucket = ...` line to set")
    return text


def copy_project(dest: Path) -> None:
    """The project as a fresh clone has it (tracked and unignored files), node_modules linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")


class UserPathRun:
    """One run of the documented commands in `workdir/project` against its own emulator."""

    name = "user-path"

    def __init__(self, rehearsal: Rehearsal, workdir: Path) -> None:
        self.r = rehearsal
        self.workdir = workdir
        self.project = workdir / "project"
        self.emulator: Emulator | None = None
        self.settings: Settings | None = None
        self.deployed = False

    def env(self) -> dict[str, str]:
        assert self.emulator is not None
        dropped = ("AWS_", "EPOCH_", "TF_", "PIPENV_", "VIRTUAL_ENV")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        venv = Path(sys.prefix)
        wrapper = self.workdir / "terraform"
        env.update(
            {
                "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL": self.emulator.url,
                "AWS_REGION": self.settings.primary_region if self.settings else "us-east-1",
                "EPOCH_SETTINGS": SETTINGS_FILE,
                "CHECKPOINT_DISABLE": "1",
                "CI": "true",
                "TERRAFORM_BINARY_NAME": str(wrapper),
                TERRAFORM_ENV: str(self.r.terraform.path),
                LOG_ENV: str(self.workdir / "terraform-wrapper.log"),
                PLATFORM_ENV: self.r.terraform.platform,
                # pipenv in the copy uses the rehearsal's own virtualenv, not a new one.
                "WORKON_HOME": str(venv.parent),
                "PIPENV_CUSTOM_VENV_NAME": venv.name,
                "PIPENV_VERBOSITY": "-1",
                "PIPENV_NOSPIN": "1",
                "PIPENV_YES": "1",
            }
        )
        if self.r.cli_config is not None:
            env["TF_CLI_CONFIG_FILE"] = str(self.r.cli_config)
        if self.r.mirror is not None:
            env[MIRROR_ROOT_ENV] = str(self.r.mirror.root)
        return env

    def pipenv(self, *args: str) -> Result:
        """`pipenv run <args>` in the project copy; StepError on a non-zero exit."""
        log = self.workdir / f"{len(list(self.workdir.glob('*-cmd-*.log'))):02d}"
        started = time.monotonic()
        completed = subprocess.run(
            ["pipenv", "run", *args],
            cwd=self.project,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        result = Result(
            args=tuple(args),
            returncode=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            seconds=time.monotonic() - started,
        )
        Path(f"{log}-cmd-{args[0]}.log").write_text(
            f"$ pipenv run {' '.join(args)}\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )
        if completed.returncode != 0:
            raise StepError(
                f"`pipenv run {' '.join(args)}` exit {completed.returncode}: {tail(result)}"
            )
        return result

    def run(self) -> None:
        step = self.r.step
        copy_project(self.project)
        example = (self.project / "settings.toml").read_text(encoding="utf-8")
        (self.project / SETTINGS_FILE).write_text(own_settings(example), encoding="utf-8")
        self.settings = load_settings(self.project / SETTINGS_FILE)
        zone = {self.settings.domain_name: self.settings.hosted_zone_id}
        self.emulator = Emulator(zones=zone, log=self.workdir / "emulator.log")
        (self.workdir / "terraform").write_text(
            f'#!/bin/sh\nPYTHONPATH="{PROJECT_ROOT}" exec "{sys.executable}" '
            '-m rehearsal.mirror_terraform "$@"\n'
        )
        (self.workdir / "terraform").chmod(0o755)
        try:
            with step(self.name, "start emulator"):
                self.emulator.start()
            with step(self.name, "create hosted zone"):
                self.client("route53").create_hosted_zone(
                    Name=self.settings.domain_name, CallerReference="rehearsal-user-path"
                )
            with step(self.name, "pipenv run synth"):
                self.pipenv("synth")
            with step(self.name, "pipenv run bootstrap"):
                self.deployed = True
                self.pipenv("bootstrap", "--auto-approve")
                self.expect_bootstrapped()
            with step(self.name, "pipenv run deploy epoch-register"):
                deployed = self.pipenv("deploy", "epoch-register", "--auto-approve")
                warned = DEPRECATED_LOCK_TABLE.search(
                    ANSI.sub("", deployed.stdout + deployed.stderr)
                )
                self.r.log(
                    f"[{self.name}]   Terraform {self.r.terraform.version_text} "
                    f"{'printed' if warned else 'printed no'} dynamodb_table deprecation warning"
                )
            with step(self.name, "pipenv run synth (again)"):
                self.pipenv("synth")
                self.expect_bootstrapped()
            for stack in ("epoch-register", "remote-state"):
                with step(self.name, f"pipenv run diff {stack} (must be 'No changes')"):
                    self.expect_no_changes(self.pipenv("diff", stack), stack)
                    self.expect_bootstrapped()
            with step(self.name, "read back through boto3"):
                checked = check_deployment(self.settings, self.client)
                self.r.log(f"[{self.name}]   {len(checked)} essentials read back and as expected")
            with step(self.name, "pipenv run teardown"):
                self.pipenv("teardown", "--confirm", self.settings.app_name, "--auto-approve")
                self.expect_torn_down()
            self.report_wrapper()
        finally:
            if self.emulator.running:
                with step(self.name, "stop emulator"):
                    self.emulator.stop()

    def client(self, service: str, region: str | None = None) -> Any:
        assert self.emulator is not None
        assert self.settings is not None
        return boto3.client(
            service,
            region_name=region or self.settings.primary_region,
            endpoint_url=self.emulator.url,
            **FAKE_CREDENTIALS,
        )

    def expect_bootstrapped(self) -> None:
        """The bootstrap state is in its bucket and the local file kept as `*.migrated`."""
        assert self.settings is not None
        names = self.settings.names
        s3 = self.client("s3")
        try:
            s3.head_object(Bucket=names.state_bucket, Key=names.bootstrap_state_key)
        except ClientError as error:
            raise StepError(
                f"s3://{names.state_bucket}/{names.bootstrap_state_key} missing: {error}"
            ) from None
        local = bootstrap_state_file(names.state_bucket, root=self.project)
        migrated = local.with_name(local.name + ".migrated")
        if local.exists() or not migrated.is_file():
            raise StepError(f"expected {migrated} (kept) and no {local}")
        self.r.log(
            f"[{self.name}]   state in s3://{names.state_bucket}/{names.bootstrap_state_key}; "
            f"local copy kept as {migrated.relative_to(self.project)}"
        )

    def expect_no_changes(self, result: Result, stack: str) -> None:
        found = NO_CHANGES.search(ANSI.sub("", result.stdout))
        if found is None:
            raise StepError(f"diff {stack} did not say 'No changes': {tail(result, 25)}")
        self.r.log(f"[{self.name}]   {stack}: {found.group(0)}")

    def expect_torn_down(self) -> None:
        assert self.settings is not None
        names = self.settings.names
        buckets = [b["Name"] for b in self.client("s3").list_buckets()["Buckets"]]
        tables = self.client("dynamodb").list_tables()["TableNames"]
        left = [b for b in buckets if b == names.state_bucket]
        left += [t for t in tables if t in (names.table, names.lock_table)]
        if left:
            raise StepError(f"teardown left {', '.join(left)}")
        self.r.log(f"[{self.name}]   state bucket, lock table and data table are gone")

    def report_wrapper(self) -> None:
        log = self.workdir / "terraform-wrapper.log"
        lines = sorted(set(log.read_text(encoding="utf-8").splitlines())) if log.exists() else []
        for line in lines:
            self.r.log(f"[{self.name}]   {line}")
