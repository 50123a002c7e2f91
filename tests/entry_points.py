"""Run the project's command-line entry points in a subprocess, as a shell would, but with
code run first in that process (e.g. packages made unimportable)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def unimportable(*packages: str) -> str:
    """A prelude that makes `packages` fail to import, as if they were not installed."""
    return "import sys; " + "".join(f"sys.modules[{name!r}] = None; " for name in packages)


def run_entry_point(
    entry: str,
    *args: str,
    cwd: Path,
    prelude: str = "",
    flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`python [flags] ENTRY ARGS` with this interpreter, after `prelude` in the same process.

    `entry` is a script (a path ending in .py, run as __main__) or a module (as `-m`).
    The project is importable from any `cwd` (PYTHONPATH); `env` is added to os.environ.
    """
    run = (
        f"runpy.run_path({entry!r}, run_name='__main__')"
        if entry.endswith(".py")
        else f"runpy.run_module({entry!r}, run_name='__main__', alter_sys=True)"
    )
    return subprocess.run(
        [sys.executable, *flags, "-c", f"{prelude}import runpy; {run}", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def missing_package_line(result: subprocess.CompletedProcess[str], package: str) -> str:
    """The one stderr line of an entry point that stopped (exit 1, nothing on stdout) because
    `package` is not installed; it names the package and this interpreter."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"error: the Python package {package!r} is not installed for {sys.executable}: "
    )
    return line
