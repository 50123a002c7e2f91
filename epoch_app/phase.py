"""What a synthesis is for, and where the bootstrap stack's local state lives (stdlib only).

Normally (`deploy`) both stacks keep their state in the bootstrap's S3 bucket. Only
`pipenv run bootstrap` (before that bucket exists) and `pipenv run teardown` (before
it goes) synthesize the remote-state stack on a local state file, and only teardown
lifts the stacks' protections. They say so through EPOCH_PHASE; nothing else sets it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PHASE_ENV = "EPOCH_PHASE"
PHASES = ("deploy", "bootstrap", "teardown")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Outside cdktf.out, which every synth replaces (and `cdktf deploy|diff` synthesize first).
BOOTSTRAP_STATE_DIR = "bootstrap-state"
STATE_STACK = "remote-state"
# Where cdktf's default LocalBackend path put the bootstrap state before: inside the
# stack's own output folder, so the next synth deleted it.
LEGACY_STATE_FILE = f"terraform.{STATE_STACK}.tfstate"


class PhaseError(Exception):
    """EPOCH_PHASE holds something else than a phase."""


@dataclass(frozen=True)
class Phase:
    name: str = "deploy"

    @property
    def local_bootstrap_state(self) -> bool:
        return self.name != "deploy"

    @property
    def protected(self) -> bool:
        return self.name != "teardown"


def phase_from_environment(environ: Mapping[str, str] | None = None) -> Phase:
    environ = os.environ if environ is None else environ
    name = environ.get(PHASE_ENV, "").strip() or "deploy"
    if name not in PHASES:
        raise PhaseError(
            f"{PHASE_ENV}={name!r} is not one of {', '.join(PHASES)}; unset it: "
            "only `pipenv run bootstrap` and `pipenv run teardown` set it"
        )
    return Phase(name)


def bootstrap_state_file(bucket: str, root: Path = PROJECT_ROOT) -> Path:
    """The remote-state stack's local state while it has no bucket: one file per bucket."""
    return root / BOOTSTRAP_STATE_DIR / f"{bucket}.tfstate"


def legacy_state_file(outdir: Path) -> Path:
    return outdir / "stacks" / STATE_STACK / LEGACY_STATE_FILE


def local_state_path(bucket: str, outdir: Path, root: Path = PROJECT_ROOT) -> str:
    """bootstrap_state_file, relative to the remote-state stack's folder (where Terraform runs)."""
    stack_dir = outdir.resolve() / "stacks" / STATE_STACK
    return os.path.relpath(bootstrap_state_file(bucket, root), stack_dir)
