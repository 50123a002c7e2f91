"""Print what the test command costs: pytest's own time, wall, CPU, and the slowest tests.

Runs `pipenv run test` (the README's test command) `--runs` times and prints,
per run, pytest's reported seconds against the 60 s target (issue 22 retired
the 40 s one), the command's wall time, the CPU seconds of the whole process
tree (user + sys of every process it waited for: pytest, dynalite, Terraform,
its providers, checkov, mypy, ...), the machine's load average before the run,
each background gate's time, and the slowest tests. CPU seconds are the
steadier figure on a shared machine; pytest seconds depend on what else runs.

    pipenv run python benchmarks/bench_tests.py [--runs 2] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
SLOWEST = 10
PYTEST_TIME = re.compile(r"\b(\d+) passed\b.* in (\d+(?:\.\d+)?)s\b")
GATE_LINE = re.compile(r"^[\w .+-]+: (\d+\.\d s|not finished)$")
DURATION = re.compile(r"^\d+\.\d+s (call|setup|teardown) ")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(extra: list[str]) -> tuple[float, float, float, list[str]]:
    """(pytest seconds, wall seconds, CPU seconds, report lines) of one test command."""
    load = os.getloadavg()[0]
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        ["pipenv", "run", "test", "-q", "-p", "no:cacheprovider", f"--durations={SLOWEST}", *extra],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    lines = result.stdout.splitlines()
    match = next((m for m in map(PYTEST_TIME.search, reversed(lines)) if m), None)
    if result.returncode != 0 or match is None:
        sys.exit(f"the test command failed (exit {result.returncode}):\n" + "\n".join(lines[-30:]))
    head = next((i for i, x in enumerate(lines) if "background gates" in x), len(lines))
    gates = [x for x in lines[head + 1 :] if GATE_LINE.match(x)]
    report = [
        f"load average before: {load:.2f}; {match[1]} passed",
        "background gates: " + "; ".join(gates),
        f"slowest {SLOWEST} tests:",
        *(f"  {x}" for x in lines if DURATION.match(x)),
    ]
    return float(match[2]), wall, cpu, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args, extra = parser.parse_known_args()
    extra = [x for x in extra if x != "--"]
    pytest_seconds, walls, cpus = [], [], []
    for number in range(1, args.runs + 1):
        seconds, wall, cpu, report = one_run(extra)
        pytest_seconds.append(seconds)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {number}: pytest {seconds:.1f} s, wall {wall:.1f} s, CPU {cpu:.1f} s")
        print("\n".join(f"  {line}" for line in report))
    median = statistics.median(pytest_seconds)
    verdict = "within" if median <= TARGET_SECONDS else "over"
    print(
        f"pytest median {median:.1f} s (target <= {TARGET_SECONDS:.0f} s: {verdict}); "
        f"wall median {statistics.median(walls):.1f} s; "
        f"CPU median {statistics.median(cpus):.1f} s on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
