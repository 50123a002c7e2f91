"""Gate: ruff, mypy and radon are clean (the same commands as `pipenv run lint`).

radon: no function of the product or its tooling above cyclomatic complexity 20
(rank D or worse) and no module below maintainability grade B.

They run as background gates (tests/background.py), from the start of the session.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.background import Gate
from tests.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


RUFF = Gate("ruff check", lambda _scratch: run(str(BIN / "ruff"), "check", "."))
RUFF_FORMAT = Gate("ruff format", lambda _scratch: run(str(BIN / "ruff"), "format", "--check", "."))
MYPY = Gate("mypy", lambda _scratch: run(str(BIN / "mypy"), "."))
# Every package but tests/, and main.py (scripts/lint.sh lists the same).
RADON_PATHS = (
    "main.py",
    "epoch_app",
    "epoch_blocks",
    "epoch_constructs",
    "epoch_ops",
    "epoch_settings",
    "handlers",
    "local_api",
    "remote_state",
    "rollout",
    "verify",
    "rehearsal",
    "benchmarks",
)


def radon(_scratch: Path) -> list[subprocess.CompletedProcess[str]]:
    return [
        run(str(BIN / "radon"), "cc", "--min", "D", "--show-complexity", *RADON_PATHS),
        run(str(BIN / "radon"), "mi", "--min", "C", "--show", *RADON_PATHS),
    ]


RADON = Gate("radon", radon)


@pytest.mark.background(RUFF)
def test_ruff_is_clean() -> None:
    result = RUFF.result()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.background(RUFF_FORMAT)
def test_ruff_format_is_clean() -> None:
    result = RUFF_FORMAT.result()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.background(MYPY)
def test_mypy_is_clean() -> None:
    result = MYPY.result()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.background(RADON)
def test_no_function_above_complexity_20_and_no_module_below_grade_b() -> None:
    for result in RADON.result():
        assert result.returncode == 0, result.stderr
        assert result.stdout == "", result.stdout


def test_radon_lists_the_packages_lint_checks() -> None:
    lint = (PROJECT_ROOT / "scripts" / "lint.sh").read_text()
    assert f'PACKAGES="{" ".join(RADON_PATHS)}"' in lint
    tracked = {
        p.split("/")[0]
        for p in subprocess.run(
            ["git", "ls-files", "*.py"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    }
    assert tracked - {"tests"} == set(RADON_PATHS)
