"""The Terraform the user-path rehearsal gives the cdktf CLI (TERRAFORM_BINARY_NAME).

cdktf runs `terraform init|plan|apply|destroy` in `cdktf.out/stacks/<stack>` with
the stack's own provider pin (6.25.0), which this offline machine's mirror cannot
supply, and the project's commands run the same binary. This wrapper writes the
gates' override files into that stack folder first (the pin moved to the mirrored
provider, 6.x-only arguments taken out, the emulator's provider and backend
settings), points cdktf's `providers lock` at the mirror, appends what it wrote
to $REHEARSAL_WRAPPER_LOG, then runs the real Terraform ($REHEARSAL_TERRAFORM).
Harness only: nothing in the product knows of it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from rehearsal.terraform import (
    EMULATOR_PROVIDER_SETTINGS,
    STACK_FILE,
    ProviderMirror,
    mirrored_versions,
    write_overrides,
)

TERRAFORM_ENV = "REHEARSAL_TERRAFORM"
MIRROR_ROOT_ENV = "REHEARSAL_MIRROR_ROOT"
LOG_ENV = "REHEARSAL_WRAPPER_LOG"
PLATFORM_ENV = "REHEARSAL_PLATFORM"
# Commands that load the stack's configuration (others, e.g. `version`, pass through).
CONFIG_COMMANDS = {"init", "plan", "apply", "destroy", "validate", "refresh", "import"}
BACKEND_OVERRIDE = "rehearsal_backend_override.tf.json"


def backend_override(stack: dict[str, Any]) -> dict[str, Any] | None:
    """The stack's S3 backend with path-style URLs (bucket names are no DNS names on 127.0.0.1).

    A backend block in an override file replaces the original whole, so it is copied.
    """
    s3 = stack.get("terraform", {}).get("backend", {}).get("s3")
    if s3 is None:
        return None
    return {"terraform": {"backend": {"s3": {**s3, "use_path_style": True}}}}


def prepare(folder: Path) -> str:
    """Write the override files into a synthesized stack folder; the line to log."""
    stack = json.loads((folder / STACK_FILE).read_text(encoding="utf-8"))
    root = Path(os.environ[MIRROR_ROOT_ENV])
    platform = os.environ.get(PLATFORM_ENV, "linux_amd64")
    mirror = ProviderMirror(root=root, versions=mirrored_versions(root, platform))
    backend = backend_override(stack)
    workspace = write_overrides(
        folder,
        stack=folder.name,
        mirror=mirror,
        backend="keep",
        provider_settings=EMULATOR_PROVIDER_SETTINGS,
        overrides={BACKEND_OVERRIDE: backend} if backend else {},
    )
    return f"{folder.name}: {workspace.judged_by}"


def main(argv: list[str]) -> int:
    folder = Path.cwd()
    if argv and argv[0] in CONFIG_COMMANDS and (folder / STACK_FILE).is_file():
        line = prepare(folder)
        log = os.environ.get(LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"terraform {argv[0]} in {line}\n")
    if argv[:2] == ["providers", "lock"] and os.environ.get(MIRROR_ROOT_ENV):
        # cdktf locks the providers after each init (the synth removed the lock file);
        # the hashes come from the mirror instead of the registry.
        argv = [*argv[:2], f"-fs-mirror={os.environ[MIRROR_ROOT_ENV]}", *argv[2:]]
    terraform = os.environ[TERRAFORM_ENV]
    os.execv(terraform, [terraform, *argv])  # noqa: S606 (the real Terraform, no shell)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
