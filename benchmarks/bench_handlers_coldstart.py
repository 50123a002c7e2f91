"""Cold start of the Lambda entry modules against the bare SDK.

For each entry module and for the baseline `import boto3; boto3.client("dynamodb")`,
start fresh interpreters and time the import inside them (interpreter start-up
itself excluded), interleaving the runs. Prints the medians and the ratios; the
budget is 1.5x the baseline.

    pipenv run python benchmarks/bench_handlers_coldstart.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.5

BASELINE = (
    "import time; t = time.perf_counter(); import boto3; "
    "boto3.client('dynamodb', region_name='us-east-1'); "
    "print(time.perf_counter() - t)"
)
HANDLER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
MODULES = ("handlers.register", "handlers.read", "handlers.health")


def lambda_like_env() -> dict[str, str]:
    """What the Lambda runtime gives a function: region, credentials in the environment
    (so botocore never probes instance metadata), and the infrastructure's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "example-secret",
            "AWS_SESSION_TOKEN": "example-token",
            "AWS_EC2_METADATA_DISABLED": "true",
            "TABLE_NAME": "epoch-register",
            "FORCE_UNHEALTHY": "false",
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    return env


def time_once(code: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per subject")
    args = parser.parse_args()
    env = lambda_like_env()
    subjects = {"baseline": BASELINE} | {m: HANDLER.format(module=m) for m in MODULES}
    for code in subjects.values():  # warm-up: byte-code caches, page cache
        time_once(code, env)
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.runs):
        for name, code in subjects.items():
            samples[name].append(time_once(code, env))

    baseline = statistics.median(samples["baseline"])
    print(f"python {sys.version.split()[0]}, {args.runs} fresh interpreters each, medians:")
    print(f"  import boto3; boto3.client('dynamodb'): {baseline * 1000:7.1f} ms")
    worst = 0.0
    for module in MODULES:
        median = statistics.median(samples[module])
        ratio = median / baseline
        worst = max(worst, ratio)
        print(f"  import {module:<24} {median * 1000:7.1f} ms  ratio {ratio:.2f}")
    verdict = "within" if worst <= BUDGET else "OVER"
    print(f"worst ratio {worst:.2f}: {verdict} the {BUDGET}x budget")
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
