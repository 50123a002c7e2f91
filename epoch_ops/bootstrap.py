"""`pipenv run bootstrap [--auto-approve]`: create the state backend once, keep its state in it.

The usual bootstrap of a Terraform state backend, in two steps:
1. `cdktf deploy remote-state` with the stack's state in a local file outside cdktf.out
   (bootstrap-state/<bucket>.tfstate: no synth deletes it), since the bucket that
   will hold state does not exist yet;
2. the stack synthesized as always (its state in its own bucket, encrypted, locked),
   `terraform init`, `terraform state push` of the local file, and a plan that must
   show no changes. The local file is then renamed `*.migrated` (kept, not deleted).

Run again, it finishes what an interrupted run left (the local file is the record)
and, once the state is in the bucket, says so and does nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from epoch_app.phase import STATE_STACK, bootstrap_state_file
from epoch_ops.preflight import (
    PreflightError,
    deploy_checks,
    output_folder,
    run_command,
)
from epoch_ops.state import (
    StateCheckError,
    adopt_legacy_state,
    local_state_has_resources,
    read_backend_state,
)
from epoch_ops.steps import StepError, cdktf, synth, terraform
from epoch_settings import Settings

MIGRATED_SUFFIX = ".migrated"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipenv run bootstrap",
        description="Create the Terraform state backend (remote-state stack) once and move "
        "its own state into it. Needs Terraform >= 1.10 and AWS credentials.",
    )
    parser.add_argument(
        "--auto-approve", action="store_true", help="apply without asking (as cdktf deploy)"
    )
    return parser


def bootstrap(settings: Settings, *, auto_approve: bool) -> str:
    """Both steps, or what is left of them; returns the closing line."""
    names = settings.names
    outdir = output_folder()
    local = bootstrap_state_file(names.state_bucket)
    where = f"s3://{names.state_bucket}/{names.bootstrap_state_key}"
    try:
        moved = adopt_legacy_state(settings, outdir)
        if moved:
            print(f"note: {moved}", flush=True)
        backend = read_backend_state(settings)
    except StateCheckError as error:
        raise PreflightError(str(error)) from None
    if backend.bootstrapped:
        return (
            f"already bootstrapped: the remote-state stack's state is in {where}; "
            "change that stack with `pipenv run deploy remote-state`"
        )
    if backend.bucket_exists and not local.is_file():
        raise PreflightError(
            f"state bucket {names.state_bucket} exists, but neither {where} nor {local} "
            "holds the state that made it: if it is another deployment's bucket, choose "
            "another remote_state.bucket; else see docs/teardown.md#if-the-bootstrap-state-is-lost"
        )
    approve = ["--auto-approve"] if auto_approve else []
    # Step 1: a first apply, or whatever an interrupted one left, on the local file.
    cdktf(
        ["deploy", STATE_STACK, *approve],
        phase="bootstrap",
        outdir=outdir,
        what=f"deploy {STATE_STACK} with its state in {local}",
    )
    if not local_state_has_resources(local):
        raise StepError(f"{local} holds no resources after the deploy: nothing to move")
    # Step 2: the stack as every later command synthesizes it, and the state moved in.
    synth("deploy", outdir)
    stack_dir = outdir / "stacks" / STATE_STACK
    terraform(["init", "-input=false"], stack_dir=stack_dir, what=f"terraform init ({where})")
    terraform(["state", "push", str(local)], stack_dir=stack_dir, what=f"move the state to {where}")
    migrated = local.with_name(local.name + MIGRATED_SUFFIX)
    os.replace(local, migrated)
    code = terraform(
        ["plan", "-detailed-exitcode", "-input=false"],
        stack_dir=stack_dir,
        what="plan remote-state from the bucket's state (must be 'No changes')",
    )
    if code == 2:
        raise StepError(
            f"the state is in {where}, but a plan of it shows changes (above): read them, "
            "then `pipenv run deploy remote-state`"
        )
    return (
        f"bootstrapped: the remote-state stack's state is in {where}; the local copy is kept "
        f"as {migrated} (delete it when you like); next: `pipenv run deploy epoch-register`"
    )


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    return run_command(
        lambda: bootstrap(deploy_checks("bootstrap"), auto_approve=args.auto_approve),
        "pipenv run bootstrap",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
