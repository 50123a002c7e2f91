"""The set-up a newcomer runs: scripts/test.sh and the Node tools' install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def test_the_test_command_without_dev_packages_says_what_to_run(tmp_path: Path) -> None:
    # A `python` that cannot see the virtualenv's packages, as after `pipenv sync`
    # without --dev; scripts/test.sh must stop before installing anything.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    shim.chmod(0o755)
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "test.sh")],
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: the test tools are not installed: run `pipenv sync --dev` first\n"
    )


def test_every_node_package_with_install_scripts_has_a_recorded_decision() -> None:
    # npm 11 skips dependency install scripts unless package.json's allowScripts
    # decides, and warns on every `npm ci` about each undecided one.
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    with_scripts = {
        path.rpartition("node_modules/")[2]
        for path, entry in lock["packages"].items()
        if entry.get("hasInstallScript") and path
    }
    decided = json.loads((PROJECT_ROOT / "package.json").read_text())["allowScripts"]
    assert with_scripts
    assert with_scripts <= set(decided)
