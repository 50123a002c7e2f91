"""Print the wall time and peak memory of a full synth beside a bare bindings import.

Usage: pipenv run python benchmarks/bench_synth.py [--runs N]

Synthesis imports the AWS provider bindings once per process; this shows how
much of `pipenv run synth` that import is. Figures, not assertions: timings on
a shared machine vary.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and peak RSS (MiB) of the largest process in the command's tree."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # wait4 reports this child's own rusage (with its waited-for descendants, e.g. node).
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        cases = {
            "bare import cdktf_cdktf_provider_aws.provider": (
                [sys.executable, "-c", "import cdktf_cdktf_provider_aws.provider"],
                QUIET,
            ),
            "synth (python main.py, both stacks)": (
                [sys.executable, "main.py"],
                {**QUIET, "CDKTF_OUTDIR": str(Path(out) / "cdktf.out")},
            ),
        }
        for name, (command, env) in cases.items():
            walls, peaks = [], []
            for _ in range(args.runs):
                wall, peak = measure(command, env)
                walls.append(wall)
                peaks.append(peak)
            print(
                f"{name}: median {statistics.median(walls):.1f} s "
                f"(min {min(walls):.1f}, max {max(walls):.1f}, {args.runs} runs); "
                f"peak RSS {max(peaks):.0f} MiB"
            )


if __name__ == "__main__":
    main()
