"""Entry point for `cdktf synth|diff|deploy` (cdktf.json) and `pipenv run synth`.

Wiring only: read settings, build the app, synthesize.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a Node end-of-life banner on Node 20 at every start; it is not ours to show.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from epoch_app import fast_bindings  # standard library only
from epoch_app.missing_package import not_installed_line  # standard library only
from epoch_app.output_folder import OutputFolderError, checked_output_folder  # stdlib only
from epoch_app.phase import PhaseError, phase_from_environment  # standard library only

USAGE = """\
usage: pipenv run synth [--settings FILE]

Validates the settings, then writes both stacks (remote-state, epoch-register) as
Terraform JSON to ./cdktf.out, or to $CDKTF_OUTDIR (the cdktf CLI sets it).

  --settings FILE  the settings file (default: $EPOCH_SETTINGS, else settings.toml);
                   every key is in docs/settings.md
  -h, --help       show this help

Exit code: 0 written, 1 a Python package is missing (run `pipenv sync`),
2 bad settings, arguments or output folder (one `error:` line each, nothing written).
"""


def missing_dependency(error: ModuleNotFoundError) -> int:
    """One line for a Python package this interpreter lacks (e.g. run outside the venv)."""
    then = "`pipenv run synth` (or `npx cdktf synth`, which runs main.py through pipenv)"
    print(not_installed_line(error, sync="pipenv sync", then=then), file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        print(USAGE, end="")
        return 0
    try:
        from epoch_settings import SettingsError
        from epoch_settings.loader import settings_from_environment
    except ModuleNotFoundError as error:
        return missing_dependency(error)
    try:
        settings = settings_from_environment(argv)
    except SettingsError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    # The cdktf CLI tells the app where to write; alone, we write ./cdktf.out.
    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    try:
        checked_output_folder(outdir)
        phase = phase_from_environment()
    except (OutputFolderError, PhaseError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # Imported after these checks: bad settings or a file in the output folder's way
    # fail in well under a second, before the AWS provider bindings load.
    try:
        with fast_bindings.loading_bindings():
            from epoch_app.app import synth_to
            from epoch_constructs.region_frontend.openapi import ContractMismatchError
    except ModuleNotFoundError as error:
        return missing_dependency(error)

    try:
        synth_to(settings, outdir, phase)
    except (ContractMismatchError, OutputFolderError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    fast_bindings.install()
    fast_bindings.run_and_exit(main, sys.argv[1:])
