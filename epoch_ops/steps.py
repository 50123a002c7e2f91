"""The commands bootstrap and teardown run: synth in a phase, cdktf, Terraform in a stack folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from epoch_app.phase import PHASE_ENV, PROJECT_ROOT
from epoch_ops.terraform_cli import BINARY_ENV


class StepError(Exception):
    """A command failed; its own output (shown above) says why, the message says what next."""


def phase_env(phase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PHASE_ENV}
    if phase != "deploy":
        env[PHASE_ENV] = phase
    return env


def run_step(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path = PROJECT_ROOT, what: str
) -> int:
    """Run `command` with the user's terminal; StepError if it fails (exit 2 is returned)."""
    print(f"==> {what}", flush=True)
    code = subprocess.run(list(command), cwd=cwd, env=dict(env), check=False).returncode
    if code not in (0, 2):
        raise StepError(f"{what} failed (exit {code})")
    return code


def synth(phase: str, outdir: Path) -> None:
    env = {**phase_env(phase), "CDKTF_OUTDIR": str(outdir)}
    run_step([sys.executable, str(PROJECT_ROOT / "main.py")], env=env, what=f"synth ({phase})")


def cdktf(args: Sequence[str], *, phase: str, outdir: Path, what: str) -> None:
    env = {**phase_env(phase), "CDKTF_OUTDIR": str(outdir)}
    if run_step(["npx", "cdktf", *args, "--output", str(outdir)], env=env, what=what) != 0:
        raise StepError(f"{what} failed (exit 2)")


def terraform_binary() -> str:
    """The Terraform cdktf runs: $TERRAFORM_BINARY_NAME, else `terraform`."""
    return os.environ.get(BINARY_ENV) or "terraform"


def terraform(args: Sequence[str], *, stack_dir: Path, what: str, phase: str = "deploy") -> int:
    return run_step([terraform_binary(), *args], env=phase_env(phase), cwd=stack_dir, what=what)
