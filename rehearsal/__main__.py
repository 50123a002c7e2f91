"""`pipenv run rehearse`: the README's deploy path, end to end, against a local AWS emulator.

Exit 0 only if every step of every variant passes. The emulator and the
temporary folders are removed on any failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from epoch_app.missing_package import not_installed_line  # standard library only


def _not_installed(error: ModuleNotFoundError) -> str:
    # The rehearsal needs the dev packages (the emulator, moto) besides the runtime ones.
    return not_installed_line(error, sync="pipenv sync --dev", then="`pipenv run rehearse`")


try:
    from rehearsal import exit_path
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
    from rehearsal.user_path import UserPathRun
except ModuleNotFoundError as missing:  # run outside the project's environment
    sys.exit(_not_installed(missing))

SETTINGS_DIR = PROJECT_ROOT / "rehearsal" / "settings"
VARIANTS: dict[str, Path] = {
    "default": SETTINGS_DIR / "default.toml",
    "three-regions-weighted-on-demand": SETTINGS_DIR / "three_regions_weighted_on_demand.toml",
}
# docs/deploying.md's commands in a copy of the project (rehearsal/user_path.py).
USER_PATH = "user-path"
# Every variant's HCL planned next to its JSON (rehearsal/exit_path.py).
EXIT_PATH = "exit-path"


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pipenv run rehearse", description=__doc__)
    parser.add_argument(
        "--variant",
        action="append",
        choices=sorted([*VARIANTS, USER_PATH, EXIT_PATH]),
        help="run only this variant",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, state) for debugging"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="run the variants one after the other"
    )
    args = parser.parse_args(argv)
    try:
        # Only the emulator's own process imports moto: check here, for one clear line.
        import moto  # noqa: F401
    except ModuleNotFoundError as missing:
        print(_not_installed(missing), file=sys.stderr)
        return 1
    names = args.variant or [*VARIANTS, USER_PATH, EXIT_PATH]
    # CI stops a run with SIGTERM: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.monotonic()
    if len(names) > 1 and not args.sequential:
        # Most of a rehearsal is the provider waiting: variants run side by side,
        # each in its own process with its own emulator.
        return run_in_parallel(names, keep=args.keep, started=started)
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
                if name == EXIT_PATH:
                    if exit_path.main() != 0:
                        failures.append(f"{name}: a variant's HCL does not plan like its JSON")
                elif name == USER_PATH:
                    UserPathRun(rehearsal, folder).run()
                else:
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


def run_in_parallel(names: list[str], *, keep: bool, started: float) -> int:
    """One child process per variant; their lines are passed through as they come."""
    children: dict[str, subprocess.Popen[str]] = {}
    pumps = []
    codes: dict[str, int] = {}
    try:
        for name in names:
            command = [sys.executable, "-m", "rehearsal", "--variant", name]
            child = subprocess.Popen(
                [*command, "--keep"] if keep else command,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            children[name] = child
            pump = threading.Thread(target=_pass_through, args=(name, child), daemon=True)
            pump.start()
            pumps.append(pump)
        for name, child in children.items():
            codes[name] = child.wait()
    except KeyboardInterrupt:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in children.items():
            codes[name] = child.wait()
        print("interrupted: every variant stopped its emulator and removed its work folder")
    for pump in pumps:
        pump.join(timeout=5)
    print(f"\nvariants run side by side; wall time {time.monotonic() - started:.1f} s")
    for name in names:
        print(f"  {name}: {'passed' if codes.get(name) == 0 else 'FAILED'}")
    return 0 if all(codes.get(name) == 0 for name in names) else 1


def _pass_through(name: str, child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        prefix = "" if line.startswith(f"[{name}]") else f"[{name}] "
        print(f"{prefix}{line}", end="", flush=True)


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
