"""Print the plan gate's wall and CPU time over the test session's settings variants.

Usage (from the project root): pipenv run python -m benchmarks.bench_plan_gate [--runs N]

Synthesizes the variants the tests use, then runs the Terraform plan gate
(`rehearsal.plan_gate`: every unique stack as a module of one configuration,
one `terraform init`, one `terraform plan`) N times, printing each run's
report: the init and plan times, the gate's wall and CPU seconds (Terraform
and its provider processes), and each stack's verdict.
Figures, not assertions: timings on a shared machine vary.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from epoch_app.app import synth_to
from epoch_settings import load_settings
from rehearsal.plan_gate import run_plan_gate
from tests.infra.conftest import VARIANTS

STACKS = ("remote-state", "epoch-register")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        stacks = {}
        for name, path in VARIANTS.items():
            outdir = Path(out) / name / "cdktf.out"
            synth_to(load_settings(path), outdir)
            stacks.update({f"{name}/{stack}": outdir / "stacks" / stack for stack in STACKS})
        print(f"synth of {len(VARIANTS)} variants: {time.perf_counter() - started:.1f} s")
        for run in range(1, args.runs + 1):
            report = run_plan_gate(stacks)
            print(f"--- run {run}, load average {os.getloadavg()[0]:.1f}")
            print("\n".join(report.lines()))
            if report.problems():
                print("\n".join(["problems:", *report.problems()]))


if __name__ == "__main__":
    main()
