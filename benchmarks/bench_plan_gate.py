"""Print the plan gate's wall and CPU time over the test session's settings variants.

Usage (from the project root):
    pipenv run python -m benchmarks.bench_plan_gate [--runs N] [--without-waf] [--hcl]

Synthesizes the variants the tests use, then runs the Terraform plan gate
(`rehearsal.plan_gate`: every unique stack as a module of one configuration,
one `terraform init`, one `terraform plan`) N times, printing each run's
report: the init and plan times, the gate's wall and CPU seconds (Terraform
and its provider processes), and each stack's verdict.

By default the gate leaves out web ACLs that repeat a planned one but for their
region, as the test command does (rehearsal/repeated_acls.py); `--every-acl`
also runs it planning every ACL and prints both figures.

`--without-waf` also runs the gate N times on copies of the stacks without
their WAF resources (web ACLs, their associations and logging
configurations: nothing else refers to them) and prints what one web ACL
costs the gate. Terraform core decodes the ACL's deeply nested `rule` blocks
against the provider schema in both of plan's walks, and the provider (SDKv2)
deep-copies that schema on every PlanResourceChange: most of the gate's CPU.
`--hcl` also runs the gate as the test command does (tests/infra/test_terraform_plan.py):
every variant synthesized as HCL in a subprocess, the default variant's two HCL
stacks planned next to the JSON in the same plan, and `terraform show -json`
of the saved plan; it prints what that adds to the gate.
Figures, not assertions: timings on a shared machine vary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

# Before the bindings start the jsii runtime: its Node 20 banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from epoch_app.app import synth_to
from epoch_settings import load_settings
from rehearsal.plan_gate import run_plan_gate
from tests.infra.conftest import VARIANTS
from tests.infra.test_terraform_plan import (
    HCL_PLANNED,
    HCL_SUFFIX,
    hcl_stack_dir,
    synthesize_hcl,
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


STACKS = ("remote-state", "epoch-register")
WAF_TYPES = (
    "aws_wafv2_web_acl",
    "aws_wafv2_web_acl_association",
    "aws_wafv2_web_acl_logging_configuration",
)


def without_waf(stacks: Mapping[str, Path], folder: Path) -> tuple[dict[str, Path], int]:
    """Copies of `stacks` without their WAF resources, and how many web ACLs the gate plans
    (in stacks it judges: byte-identical stacks are judged once)."""
    copies: dict[str, Path] = {}
    judged: set[str] = set()
    acls = 0
    for label, stack_dir in stacks.items():
        copy = folder / label
        shutil.copytree(stack_dir, copy)
        path = copy / "cdk.tf.json"
        original = path.read_text(encoding="utf-8")
        stack = json.loads(original)
        resources = stack.get("resource", {})
        if original not in judged:
            judged.add(original)
            acls += len(resources.get(WAF_TYPES[0], {}))
        for kind in WAF_TYPES:
            resources.pop(kind, None)
        text = json.dumps(stack, indent=2)
        if "aws_wafv2_" in text:
            raise SystemExit(f"{label}: something still refers to a WAF resource")
        path.write_text(text, encoding="utf-8")
        copies[label] = copy
    return copies, acls


def gate_cpu(
    stacks: Mapping[str, Path],
    runs: int,
    title: str,
    hcl_twins: Mapping[str, str] | None = None,
    every_acl: bool = False,
) -> float:
    """The median CPU seconds of `runs` gate runs over `stacks`, printing each report."""
    figures = []
    for run in range(1, runs + 1):
        report = run_plan_gate(
            stacks, hcl_twins=hcl_twins, show=bool(hcl_twins), every_acl=every_acl
        )
        print(f"--- {title}, run {run}, load average {os.getloadavg()[0]:.1f}")
        print("\n".join(report.lines()))
        if report.problems():
            print("\n".join(["problems:", *report.problems()]))
        figures.append(report.cpu_seconds)
    return statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--without-waf", action="store_true")
    parser.add_argument("--hcl", action="store_true")
    parser.add_argument("--every-acl", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        stacks = {}
        for name, path in VARIANTS.items():
            outdir = Path(out) / name / "cdktf.out"
            synth_to(load_settings(path), outdir)
            stacks.update({f"{name}/{stack}": outdir / "stacks" / stack for stack in STACKS})
        print(f"synth of {len(VARIANTS)} variants: {time.perf_counter() - started:.1f} s")
        whole = gate_cpu(stacks, args.runs, "every stack, repeated web ACLs left out")
        if args.every_acl or args.without_waf:
            every = gate_cpu(stacks, args.runs, "every stack, every web ACL", every_acl=True)
            print(
                f"gate CPU: {whole:.1f} s with repeated web ACLs left out, "
                f"{every:.1f} s with every web ACL planned"
            )
        if args.without_waf:
            copies, acls = without_waf(stacks, Path(out) / "without-waf")
            rest = gate_cpu(copies, args.runs, "without WAF resources")
            print(
                f"gate CPU: {every:.1f} s; without the WAF resources: {rest:.1f} s; "
                f"{acls} web ACLs planned, {(every - rest) / max(acls, 1):.1f} s each "
                "(with its association and logging configuration)"
            )
        if args.hcl:
            cpu_before = children_cpu()
            started = time.perf_counter()
            hcl_root = synthesize_hcl(Path(out) / "hcl")
            synth_cpu = children_cpu() - cpu_before
            print(
                f"HCL synth of {len(VARIANTS)} variants (subprocess): "
                f"{time.perf_counter() - started:.1f} s wall, {synth_cpu:.1f} s CPU"
            )
            with_hcl = dict(stacks)
            twins = {}
            for variant in HCL_PLANNED:
                for stack in STACKS:
                    label = f"{variant}/{stack}{HCL_SUFFIX}"
                    with_hcl[label] = hcl_stack_dir(hcl_root, variant, stack)
                    twins[label] = f"{variant}/{stack}"
            hcl = gate_cpu(with_hcl, args.runs, "every stack and the default HCL", twins)
            print(
                f"gate CPU: {whole:.1f} s; with the default variant's HCL planned and shown: "
                f"{hcl:.1f} s (+{hcl - whole:.1f} s), plus {synth_cpu:.1f} s of HCL synthesis"
            )


if __name__ == "__main__":
    main()
