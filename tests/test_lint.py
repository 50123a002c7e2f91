"""Gate: ruff and mypy are clean (the same commands as `pipenv run lint`).

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
