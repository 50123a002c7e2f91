"""One settings variant's deploy rehearsal: synth, bootstrap, deploy, re-plan, read back, destroy.

Everything runs against the emulator on loopback. Terraform is run directly on
the synthesized stacks (not `cdktf deploy`): see docs/rehearsal.md for why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from epoch_settings.loader import load_settings
from rehearsal.emulator import PROJECT_ROOT, Emulator
from rehearsal.readback import check_deployment
from rehearsal.terraform import (
    EMULATOR_PROVIDER_SETTINGS,
    STACK_FILE,
    Backend,
    ProviderMirror,
    Result,
    TerraformCli,
    Workspace,
    prepare_workspace,
    run,
    terraform_env,
)

SYNTH_TIMEOUT = 300.0
INIT_TIMEOUT = 300.0
APPLY_TIMEOUT = 900.0
PLAN_TIMEOUT = 600.0
STATE_STACK = "remote-state"
ROOT_STACK = "epoch-register"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# The S3 backend's counterpart, given to `terraform init` as partial configuration.
EMULATOR_BACKEND_CONFIG = ("use_path_style=true",)
TEARDOWN_OVERRIDE = "rehearsal_teardown_override.tf.json"
UNPROTECT_OVERRIDE = "rehearsal_unprotect_override.tf.json"


class StepError(Exception):
    """A rehearsal step failed; the message says which and why."""


@dataclass
class StepTime:
    variant: str
    name: str
    seconds: float
    ok: bool


@dataclass
class Rehearsal:
    """Shared tools and the record of every step's time."""

    terraform: TerraformCli
    mirror: ProviderMirror | None
    cli_config: Path | None
    log: Callable[[str], None] = print
    steps: list[StepTime] = field(default_factory=list)

    @contextmanager
    def step(self, variant: str, name: str) -> Iterator[None]:
        self.log(f"[{variant}] {name} ...")
        started = time.monotonic()
        ok = False
        try:
            yield
            ok = True
        finally:
            seconds = time.monotonic() - started
            self.steps.append(StepTime(variant, name, seconds, ok))
            self.log(f"[{variant}] {name}: {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")


def teardown_override(stack: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An override lifting `prevent_destroy` (and letting the state bucket go with its objects).

    Returns the override document and the addresses it changes. Only the
    rehearsal's scratch copy gets it: a real state bucket keeps its guard.
    """
    resources: dict[str, dict[str, Any]] = {}
    changed = []
    for rtype, blocks in stack.get("resource", {}).items():
        for name, block in blocks.items():
            if block.get("lifecycle", {}).get("prevent_destroy"):
                entry: dict[str, Any] = {"lifecycle": {"prevent_destroy": False}}
                if rtype == "aws_s3_bucket":
                    entry["force_destroy"] = True
                resources.setdefault(rtype, {})[name] = entry
                changed.append(f"{rtype}.{name}")
    return {"resource": resources}, changed


def unprotect_override(stack: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An override switching deletion protection off where the stack switches it on.

    Written into the scratch copy only at teardown and applied to just those
    addresses, as a user would before destroying; the bootstrap deploys the
    stack's own setting.
    """
    resources: dict[str, dict[str, Any]] = {}
    changed = []
    for rtype, blocks in stack.get("resource", {}).items():
        for name, block in blocks.items():
            if block.get("deletion_protection_enabled") is True:
                resources.setdefault(rtype, {})[name] = {"deletion_protection_enabled": False}
                changed.append(f"{rtype}.{name}")
    return {"resource": resources}, changed


def changed_addresses(plan_json: Mapping[str, Any]) -> list[str]:
    """Addresses a saved plan would change (anything but no-op/read), with their actions."""
    found = []
    for change in plan_json.get("resource_changes", []):
        actions = change.get("change", {}).get("actions", [])
        if actions and set(actions) - {"no-op", "read"}:
            found.append(f"{change['address']} ({'/'.join(actions)})")
    return found


def check_no_changes(result: Result, show: Callable[[], Mapping[str, Any]]) -> str:
    """The "No changes" line of `plan -detailed-exitcode`, or StepError.

    Exit 0 is no changes; exit 2 is a diff right after an apply (a perpetual
    diff): a failure naming every address; anything else is an error.
    """
    if result.returncode == 0:
        for line in result.stdout.splitlines():
            if line.strip().startswith("No changes."):
                return line.strip()
        raise StepError("plan exited 0 but printed no 'No changes.' line")
    if result.returncode == 2:
        addresses = changed_addresses(show())
        listed = "; ".join(addresses) or "(no resource changes: outputs only)"
        raise StepError(f"second plan is not empty (perpetual diff): {listed}")
    raise StepError(f"second plan failed (exit {result.returncode}): {tail(result)}")


def tail(result: Result, lines: int = 15) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


def load_variant(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


class VariantRun:
    """One variant's rehearsal in `workdir` against its own emulator."""

    def __init__(self, rehearsal: Rehearsal, name: str, settings: Path, workdir: Path) -> None:
        self.r = rehearsal
        self.name = name
        self.settings_path = settings
        self.settings = load_variant(settings)
        self.workdir = workdir
        self.emulator: Emulator | None = None
        self.workspaces: dict[str, Workspace] = {}
        self.deployed: list[str] = []
        self.no_changes_line = ""

    # -- plumbing ------------------------------------------------------------

    def env(self) -> dict[str, str]:
        assert self.emulator is not None
        return terraform_env(
            self.r.cli_config,
            extra={
                "AWS_ENDPOINT_URL": self.emulator.url,
                "AWS_REGION": self.regions[0],
            },
        )

    @property
    def regions(self) -> list[str]:
        return list(self.settings.get("regions", ["us-east-1", "us-west-2"]))

    def client(self, service: str, region: str | None = None) -> Any:
        assert self.emulator is not None
        return boto3.client(
            service,
            region_name=region or self.regions[0],
            endpoint_url=self.emulator.url,
            **FAKE_CREDENTIALS,
        )

    def terraform(self, stack: str, args: Sequence[str], timeout: float) -> Result:
        return run(
            self.r.terraform, args, cwd=self.workspaces[stack].path, env=self.env(), timeout=timeout
        )

    def must(self, stack: str, args: Sequence[str], timeout: float) -> Result:
        result = self.terraform(stack, args, timeout)
        if result.returncode != 0:
            raise StepError(
                f"terraform {args[0]} {stack} (exit {result.returncode}): {tail(result)}"
            )
        return result

    # -- steps ---------------------------------------------------------------

    def run(self) -> None:
        step = self.r.step
        zone = {str(self.settings["domain_name"]): str(self.settings["hosted_zone_id"])}
        self.emulator = Emulator(zones=zone, log=self.workdir / "emulator.log")
        try:
            with step(self.name, "start emulator"):
                self.emulator.start()
                self.r.log(f"[{self.name}]   emulator on {self.emulator.url}")
            with step(self.name, "create hosted zone"):
                self.create_zone()
            with step(self.name, "synthesize"):
                self.synthesize()
            with step(self.name, "bootstrap remote-state (local backend)"):
                # The bootstrap's first apply, before its bucket exists (as `pipenv run
                # bootstrap` synthesizes it); the user-path variant migrates it after.
                self.prepare(STATE_STACK, backend="local")
                self.must(STATE_STACK, ["init", "-input=false", "-no-color"], INIT_TIMEOUT)
                self.deployed.append(STATE_STACK)
                self.must(
                    STATE_STACK,
                    ["apply", "-auto-approve", "-input=false", "-no-color"],
                    APPLY_TIMEOUT,
                )
            with step(self.name, "deploy epoch-register (S3 backend)"):
                self.prepare(ROOT_STACK)
                init = ["init", "-input=false", "-no-color"]
                init += [f"-backend-config={item}" for item in EMULATOR_BACKEND_CONFIG]
                self.must(ROOT_STACK, init, INIT_TIMEOUT)
                self.deployed.append(ROOT_STACK)
                self.must(
                    ROOT_STACK,
                    ["apply", "-auto-approve", "-input=false", "-no-color"],
                    APPLY_TIMEOUT,
                )
            with step(self.name, "second plan (must be 'No changes')"):
                self.second_plan()
            self.rehearse_rollout()
            with step(self.name, "read back through boto3"):
                checked = check_deployment(load_settings(self.settings_path), self.client)
                self.r.log(f"[{self.name}]   {len(checked)} essentials read back and as expected")
            self.teardown()
        finally:
            # After a failure or Ctrl-C nothing is destroyed: the emulator's state goes with it.
            self.stop_emulator()

    def rehearse_rollout(self) -> None:
        """A variant with rollout.mode = "canary" also rehearses `pipenv run rollout`."""
        from rehearsal.rollout_steps import CanaryRehearsal, wanted  # imports this module

        if wanted(self.settings):
            CanaryRehearsal(self).steps()

    def create_zone(self) -> None:
        route53 = self.client("route53")
        name = str(self.settings["domain_name"])
        zone = route53.create_hosted_zone(Name=name, CallerReference=f"rehearsal-{name}")
        zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        if zone_id != self.settings["hosted_zone_id"]:
            raise StepError(
                f"the emulator made zone {zone_id}, "
                f"not the settings' {self.settings['hosted_zone_id']}"
            )
        self.r.log(f"[{self.name}]   hosted zone {name} = {zone_id}")

    def synthesize(self) -> None:
        """The project's own synth path (main.py) in a subprocess, into the work folder."""
        synthesize(PROJECT_ROOT, self.settings_path, self.workdir / "cdktf.out")

    def prepare(self, stack: str, backend: Backend = "keep") -> None:
        source = self.workdir / "cdktf.out" / "stacks" / stack
        document = json.loads((source / STACK_FILE).read_text(encoding="utf-8"))
        override, lifted = teardown_override(document)
        overrides = {TEARDOWN_OVERRIDE: override} if lifted else {}
        workspace = prepare_workspace(
            source,
            self.workdir / "tf" / stack,
            mirror=self.r.mirror,
            backend=backend,
            provider_settings=EMULATOR_PROVIDER_SETTINGS,
            overrides=overrides,
        )
        self.workspaces[stack] = workspace
        self.r.log(f"[{self.name}]   {stack}: {workspace.judged_by}")
        for address in lifted:
            self.r.log(
                f"[{self.name}]   {stack}: prevent_destroy lifted in the scratch copy "
                f"for teardown: {address}"
            )

    def second_plan(self) -> None:
        result = self.terraform(
            ROOT_STACK,
            ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-out=second.tfplan"],
            PLAN_TIMEOUT,
        )

        def show() -> Mapping[str, Any]:
            shown = self.must(ROOT_STACK, ["show", "-json", "second.tfplan"], PLAN_TIMEOUT)
            return json.loads(shown.stdout)  # type: ignore[no-any-return]

        self.no_changes_line = check_no_changes(result, show)
        self.r.log(f"[{self.name}]   {self.no_changes_line}")

    def teardown(self) -> None:
        """Destroy both stacks, the root stack first (its state lives in the other)."""
        for stack in reversed(self.deployed):
            with self.r.step(self.name, f"destroy {stack}"):
                self.unprotect(stack)
                self.must(
                    stack, ["destroy", "-auto-approve", "-input=false", "-no-color"], APPLY_TIMEOUT
                )
        self.deployed.clear()

    def unprotect(self, stack: str) -> None:
        workspace = self.workspaces[stack]
        document = json.loads((workspace.path / STACK_FILE).read_text(encoding="utf-8"))
        override, addresses = unprotect_override(document)
        if not addresses:
            return
        (workspace.path / UNPROTECT_OVERRIDE).write_text(json.dumps(override, indent=2) + "\n")
        for address in addresses:
            self.r.log(
                f"[{self.name}]   {stack}: deletion protection switched off for teardown "
                f"(scratch copy, apply -target): {address}"
            )
        targets = [f"-target={address}" for address in addresses]
        self.must(
            stack, ["apply", "-auto-approve", "-input=false", "-no-color", *targets], APPLY_TIMEOUT
        )

    def stop_emulator(self) -> None:
        if self.emulator is not None and self.emulator.running:
            with self.r.step(self.name, "stop emulator"):
                self.emulator.stop()


def synthesize(project: Path, settings: Path, out: Path) -> None:
    """`main.py --settings <settings>` of `project` in a subprocess, into `out`."""
    completed = subprocess.run(
        [sys.executable, str(project / "main.py"), "--settings", str(settings)],
        cwd=project,
        env={**os.environ, "CDKTF_OUTDIR": str(out)},
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise StepError(f"synth failed (exit {completed.returncode}): {completed.stderr.strip()}")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
