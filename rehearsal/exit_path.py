"""The rehearsal's exit-path job: every settings variant's HCL plans exactly like its JSON.

The test command plans the default variant's `cdktf synth --hcl` output next to
its JSON and loads every other variant's HCL in Terraform core
(tests/infra/test_terraform_plan.py). Planning every variant's HCL costs
minutes of CPU, so `pipenv run rehearse` does it, side by side with the deploy
variants: it runs that same test module with EPOCH_PLAN_HCL=every-variant, so
the plan gate takes every variant's HCL stacks as twins of their JSON stacks
and checks, stack by stack, 0 errors, only the named warnings, and the same
planned resources, actions and values (docs/leaving-cdktf.md).

    python -m rehearsal.exit_path     (or: pipenv run rehearse --variant exit-path)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from rehearsal.emulator import PROJECT_ROOT

NAME = "exit-path"
TEST_MODULE = "tests/infra/test_terraform_plan.py"
# The tests of that module that read the gate's verdicts.
SELECTED = "validates_and_plans_cleanly or hcl_output_validates or hcl_loads"


def main() -> int:
    started = time.monotonic()
    print(f"[{NAME}] every variant's HCL planned next to its JSON ({TEST_MODULE}) ...", flush=True)
    env = {**os.environ, "EPOCH_PLAN_HCL": "every-variant"}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", SELECTED]
    result = subprocess.run(
        [*command, TEST_MODULE],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.monotonic() - started
    verdict = "passed" if result.returncode == 0 else f"FAILED (pytest exit {result.returncode})"
    print(f"[{NAME}] {verdict} in {seconds:.1f} s", flush=True)
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
