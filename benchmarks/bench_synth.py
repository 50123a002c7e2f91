"""Time `pipenv run synth` against a bare bindings import and the jsii kernel's own load.

Usage: pipenv run python benchmarks/bench_synth.py [--runs N] [--no-eager-synth]

Runs the commands interleaved (one of each per round, so a busy machine slows
them alike) and prints, per command, the median wall time and the peak memory
of its whole process tree (Python, the Node jsii kernel, pipenv), then the
ratios the fast synthesis targets (epoch_app/fast_bindings.py):

- `pipenv run synth` <= 0.3 x a bare eager `import cdktf_cdktf_provider_aws.provider`;
- `pipenv run synth` <= 1.5 x the kernel loading the constructs, cdktf and
  provider assemblies and nothing else (each package's `_jsii` module, with
  the package roots registered unrun so no Python bindings load) — the floor
  for these bindings.

Tree memory is the sum of every live descendant's resident set, sampled
every 10 ms from /proc (a peak shorter than that can be missed); "largest"
is the biggest single process (the kernel's `ru_maxrss`). Figures, not
assertions: timings on a shared machine vary; `uptime` load is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
PAGE = os.sysconf("SC_PAGE_SIZE")

KERNEL_LOAD = """
import importlib.util, sys
for name in ("constructs", "cdktf", "cdktf_cdktf_provider_aws"):
    spec = importlib.util.find_spec(name)
    sys.modules[name] = importlib.util.module_from_spec(spec)
import cdktf_cdktf_provider_aws._jsii
"""


@dataclass
class Case:
    name: str
    command: list[str]
    env: dict[str, str]
    walls: list[float] = field(default_factory=list)
    tree_peaks: list[float] = field(default_factory=list)
    largest: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.walls)


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    queue.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


def tree_rss(pid: int) -> int:
    total = 0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/statm") as statm:
                total += int(statm.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(case: Case) -> None:
    peak = [0]
    start = time.perf_counter()
    child = subprocess.Popen(
        case.command, cwd=ROOT, env=case.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], tree_rss(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert child.stderr is not None
    errors = child.stderr.read()
    # wait4: this child's rusage, including its waited-for descendants (the Node kernel).
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{case.name}: exit code {child.returncode}\n{errors.decode()[-2000:]}")
    case.walls.append(wall)
    case.tree_peaks.append(peak[0] / 2**20)
    case.largest.append(usage.ru_maxrss / 1024)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-eager-synth", action="store_true", help="skip synth with the normal import"
    )
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as out:
        synth_env = {**QUIET, "CDKTF_OUTDIR": str(Path(out) / "cdktf.out")}
        eager = Case(
            "bare eager import", [python, "-c", "import cdktf_cdktf_provider_aws.provider"], QUIET
        )
        kernel = Case("jsii kernel load (3 assemblies)", [python, "-c", KERNEL_LOAD], QUIET)
        synth = Case("pipenv run synth", ["pipenv", "run", "synth"], synth_env)
        direct = Case("python main.py", [python, "main.py"], synth_env)
        cases = [eager, kernel, synth, direct]
        if not args.no_eager_synth:
            cases.append(
                Case(
                    "python main.py, normal import",
                    [python, "main.py"],
                    {**synth_env, "EPOCH_EAGER_BINDINGS": "1"},
                )
            )
        print(f"load average before: {load()}; {args.runs} interleaved rounds", flush=True)
        for _round in range(args.runs):
            for case in cases:
                measure(case)
        print(f"load average after:  {load()}")
    width = max(len(case.name) for case in cases)
    for case in cases:
        print(
            f"{case.name:<{width}}  median {case.median():5.2f} s "
            f"(min {min(case.walls):.2f}, max {max(case.walls):.2f})  "
            f"tree peak {max(case.tree_peaks):4.0f} MiB, "
            f"largest process {max(case.largest):4.0f} MiB"
        )
    for name, floor, target in (("bare eager import", eager, 0.3), ("kernel load", kernel, 1.5)):
        for fast in (synth, direct):
            ratio = fast.median() / floor.median()
            verdict = "within" if ratio <= target else "OVER"
            print(f"{fast.name} / {name}: {ratio:.2f}x (target <= {target}x: {verdict})")


if __name__ == "__main__":
    main()
