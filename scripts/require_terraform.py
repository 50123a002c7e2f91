"""Stop `pipenv run diff|deploy` early, in one line, when Terraform is missing or too old.

The cdktf CLI runs the `terraform` on PATH; without it, `cdktf diff|deploy` ends
in "execvp(3) failed" with the cause in an INFO line. (Kept minimal on purpose:
rehearsal/terraform.py on the plangate branch has a fuller finder to unify with.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

# The S3 backend's `use_lockfile` (S3-native state locking) needs Terraform 1.10.
MIN_VERSION = (1, 10)
INSTALL = "install Terraform 1.10 or newer (https://developer.hashicorp.com/terraform/install)"


def problem() -> str | None:
    """What is wrong with the Terraform on PATH, or None if it will do."""
    found = shutil.which("terraform")
    if found is None:
        return f"Terraform is not on PATH: {INSTALL}"
    try:
        completed = subprocess.run(
            [found, "version", "-json"], capture_output=True, text=True, timeout=60, check=True
        )
        text = json.loads(completed.stdout)["terraform_version"]
        version = tuple(int(part) for part in text.split("-")[0].split(".")[:2])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return f"{found} did not report its version (`terraform version -json`): {INSTALL}"
    if version < MIN_VERSION:
        return f"{found} is Terraform {text}: {INSTALL}"
    return None


if __name__ == "__main__":
    message = problem()
    if message is not None:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
