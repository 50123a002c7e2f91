"""`pipenv run teardown --confirm <app_name> [--auto-approve]`: take the whole deployment down.

The order of docs/teardown.md, each protection lifted on purpose and only here:
1. root stack: synthesized in the teardown phase (table and replica deletion
   protection off), those resources applied alone (-target), then destroyed;
2. bootstrap stack: its state pulled from its own bucket into
   bootstrap-state/<bucket>.tfstate (it cannot stay in a bucket being deleted),
   synthesized in the teardown phase (on that file; prevent_destroy off, the lock
   table's deletion protection off, the bucket deleted with every object version),
   the changed resources applied alone, then destroyed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from epoch_app.phase import STATE_STACK, bootstrap_state_file
from epoch_ops.preflight import (
    ROOT_STACK,
    PreflightError,
    deploy_checks,
    output_folder,
    run_command,
)
from epoch_ops.state import StateCheckError, read_backend_state
from epoch_ops.steps import StepError, phase_env, synth, terraform, terraform_binary
from epoch_settings import Settings

STACK_FILE = "cdk.tf.json"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipenv run teardown",
        description="Destroy the root stack, then the bootstrap stack (state bucket, lock "
        "table, state key). Deletes every registration. docs/teardown.md",
    )
    parser.add_argument(
        "--confirm", metavar="APP_NAME", required=True, help="the settings' app_name, typed out"
    )
    parser.add_argument("--auto-approve", action="store_true", help="destroy without asking")
    return parser


def unprotected_addresses(stack_dir: Path) -> list[str]:
    """Resources the teardown phase changed to let them go: they are applied first, alone."""
    stack: dict[str, Any] = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
    found = []
    for rtype, blocks in stack.get("resource", {}).items():
        for name, body in blocks.items():
            if body.get("deletion_protection_enabled") is False or body.get("force_destroy"):
                found.append(f"{rtype}.{name}")
    return found


def destroy_stack(stack: str, outdir: Path, approve: list[str]) -> None:
    stack_dir = outdir / "stacks" / stack
    terraform(["init", "-input=false"], stack_dir=stack_dir, what=f"terraform init ({stack})")
    targets = [f"-target={address}" for address in unprotected_addresses(stack_dir)]
    if targets:
        terraform(
            ["apply", "-input=false", *approve, *targets],
            stack_dir=stack_dir,
            what=f"lift the protections of {stack} ({len(targets)} resources)",
        )
    terraform(["destroy", "-input=false", *approve], stack_dir=stack_dir, what=f"destroy {stack}")


def teardown(settings: Settings, *, auto_approve: bool) -> str:
    names = settings.names
    outdir = output_folder()
    approve = ["-auto-approve"] if auto_approve else []
    local = bootstrap_state_file(names.state_bucket)
    try:
        backend = read_backend_state(settings)
    except StateCheckError as error:
        raise PreflightError(str(error)) from None
    if backend.bucket_exists:
        # 1. The root stack, whose state is in the bucket.
        synth("teardown", outdir)
        destroy_stack(ROOT_STACK, outdir, approve)
        if backend.bootstrapped:
            # 2a. The bootstrap stack's state out of the bucket that is about to go.
            synth("deploy", outdir)
            state_dir = outdir / "stacks" / STATE_STACK
            terraform(["init", "-input=false"], stack_dir=state_dir, what="terraform init")
            pulled = _pull(state_dir)
            local.parent.mkdir(parents=True, exist_ok=True)
            if local.is_file():
                # An interrupted teardown's copy, or an older one: kept, never overwritten.
                local.replace(local.with_name(f"{local.name}.before-teardown-{int(time.time())}"))
            local.write_text(pulled, encoding="utf-8")
            print(f"==> the bootstrap stack's state copied to {local}", flush=True)
    if not local.is_file():
        raise PreflightError(
            f"no state for the bootstrap stack in its bucket or in {local}: nothing to destroy"
        )
    # 2b. The bootstrap stack on the local copy.
    synth("teardown", outdir)
    destroy_stack(STATE_STACK, outdir, approve)
    return (
        f"torn down: both stacks destroyed; the bootstrap stack's (now empty) state stays in "
        f"{local}; KMS keys are scheduled for deletion (docs/teardown.md says what remains)"
    )


def _pull(stack_dir: Path) -> str:
    print("==> terraform state pull (remote-state)", flush=True)
    completed = subprocess.run(
        [terraform_binary(), "state", "pull"],
        cwd=stack_dir,
        env=phase_env("deploy"),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0 or not completed.stdout.strip().startswith("{"):
        sys.stderr.write(completed.stderr)
        raise StepError(f"terraform state pull failed (exit {completed.returncode})")
    return completed.stdout


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)

    def confirmed_teardown() -> str:
        settings = deploy_checks("teardown")
        if args.confirm != settings.app_name:
            raise PreflightError(
                f"--confirm {args.confirm} is not this deployment's app_name "
                f"({settings.app_name}): type it out to destroy it"
            )
        return teardown(settings, auto_approve=args.auto_approve)

    return run_command(confirmed_teardown, "pipenv run teardown")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
