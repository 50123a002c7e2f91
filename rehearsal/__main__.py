"""`pipenv run rehearse`: the README's deploy path, end to end, against a local AWS emulator.

Exit 0 only if every step of every variant passes. The emulator and the
temporary folders are removed on any failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from rehearsal.deploy import Rehearsal, StepError, VariantRun, remove_tree
from rehearsal.emulator import PROJECT_ROOT, EmulatorError
from rehearsal.readback import ReadbackError
from rehearsal.shims import GAPS
from rehearsal.terraform import (
    TerraformError,
    find_provider_mirror,
    find_terraform,
    write_cli_config,
)

SETTINGS_DIR = PROJECT_ROOT / "rehearsal" / "settings"
VARIANTS: dict[str, Path] = {
    "default": SETTINGS_DIR / "default.toml",
    "three-regions-weighted-on-demand": SETTINGS_DIR / "three_regions_weighted_on_demand.toml",
}


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pipenv run rehearse", description=__doc__)
    parser.add_argument(
        "--variant", action="append", choices=sorted(VARIANTS), help="run only this variant"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, state) for debugging"
    )
    args = parser.parse_args(argv)
    names = args.variant or list(VARIANTS)
    # CI stops a run with SIGTERM: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.monotonic()
    try:
        terraform = find_terraform()
        mirror = find_provider_mirror(terraform.platform)
    except TerraformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="epoch-rehearsal-"))
    failures: list[str] = []
    rehearsal = Rehearsal(
        terraform=terraform,
        mirror=mirror,
        cli_config=write_cli_config(mirror, workdir) if mirror is not None else None,
        log=lambda line: print(line, flush=True),
    )
    print(
        f"deploy rehearsal: Terraform {terraform.version_text}, provider "
        f"{'mirror ' + str(mirror.root) if mirror else 'from the registry'}; work folder {workdir}",
        flush=True,
    )
    try:
        for name in names:
            folder = workdir / name
            folder.mkdir()
            try:
                VariantRun(rehearsal, name, VARIANTS[name], folder).run()
            except (StepError, TerraformError, EmulatorError, ReadbackError) as error:
                failures.append(f"{name}: {error}")
                print(f"[{name}] FAILED: {error}", flush=True)
    except KeyboardInterrupt:
        failures.append("interrupted")
        print("interrupted: emulator stopped, work folder removed", file=sys.stderr)
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            remove_tree(workdir)
    print_summary(rehearsal, failures, time.monotonic() - started)
    return 1 if failures else 0


def print_summary(rehearsal: Rehearsal, failures: list[str], seconds: float) -> None:
    print("\nemulator gaps handled by the harness (docs/rehearsal.md):")
    for gap in GAPS:
        print(f"  - {gap.resource}: {gap.call}: {gap.handling}")
    print("\nstep times:")
    for step in rehearsal.steps:
        print(
            f"  {step.variant:<34} {step.name:<42} {step.seconds:7.1f} s  "
            f"{'ok' if step.ok else 'FAILED'}"
        )
    print(f"\ntotal {seconds:.1f} s")
    if failures:
        print("REHEARSAL FAILED:")
        for failure in failures:
            print(f"  {failure}")
    else:
        print(
            "rehearsal passed: every variant deployed, re-planned with no changes, "
            "read back and destroyed"
        )


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(main(sys.argv[1:]))
