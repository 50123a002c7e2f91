"""`python main.py` with bad settings: one clear error, exit 2, no traceback, no output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from epoch_settings.loader import SETTINGS_ENV_VAR
from tests.conftest import PROJECT_ROOT


def run_main(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            'domain_name = "example.com"\nhosted_zone_id = "Z1"\nregion = "us-east-1"',
            "region: unknown setting",
        ),
        ('domain_name = "example.com"\nhosted_zone_id = "Z1"\nregions = ["us-east-1"]', "regions:"),
        ('domain_name = "example..com"\nhosted_zone_id = "Z1"', "domain_name:"),
    ],
)
def test_bad_settings_file_fails_cleanly(tmp_path: Path, content: str, expected: str) -> None:
    settings = tmp_path / "bad.toml"
    settings.write_text(content)
    result = run_main(tmp_path, "--settings", str(settings))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert expected in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdktf.out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_every_problem_is_one_error_line(tmp_path: Path) -> None:
    settings = tmp_path / "bad.toml"
    settings.write_text(
        'colour = "x"\nregions = ["us-east-1", "us-east-1"]\nlog_retention_days = 366\n'
        'domain_name = "example.com"\nhosted_zone_id = "Z1"\n[table]\nread_min = 9\nread_max = 5\n'
    )
    result = run_main(tmp_path, "--settings", str(settings))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line.startswith(f"error: {settings}: ")
    assert {line.split(": ")[2] for line in lines} == {
        "colour",
        "regions",
        "log_retention_days",
        "table.read_min",
    }


def test_settings_from_environment_variable(tmp_path: Path) -> None:
    result = run_main(tmp_path, env={SETTINGS_ENV_VAR: str(tmp_path / "missing.toml")})
    assert result.returncode == 2
    assert "missing.toml: settings file not found" in result.stderr
    assert not (tmp_path / "cdktf.out").exists()
