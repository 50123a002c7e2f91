"""`python main.py` with bad settings: one clear error, exit 2, no traceback, no output."""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from epoch_settings.loader import SETTINGS_ENV_VAR
from tests.conftest import PROJECT_ROOT
from tests.entry_points import missing_package_line, run_entry_point, unimportable

MAIN_PY = str(PROJECT_ROOT / "main.py")


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


@pytest.mark.parametrize(
    ("flags", "prelude", "missing"),
    [
        # An interpreter without the project's packages (-S: no site-packages at all).
        (["-S"], "", "pydantic"),
        # The settings load, then the bindings are missing.
        ([], unimportable("cdktf"), "cdktf"),
    ],
)
def test_a_missing_python_package_is_one_line_that_says_how_to_install(
    tmp_path: Path, flags: list[str], prelude: str, missing: str
) -> None:
    result = run_entry_point(MAIN_PY, cwd=tmp_path, flags=flags, prelude=prelude)
    line = missing_package_line(result, missing)
    assert "run `pipenv sync`" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "module", ["epoch_constructs.gone", "remote_state.gone", "rehearsal.gone", "handlers"]
)
def test_a_missing_module_of_the_project_itself_is_a_bug_not_a_set_up_step(module: str) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    try:
        main = runpy.run_path(MAIN_PY)
    finally:
        sys.path.remove(str(PROJECT_ROOT))
    error = ModuleNotFoundError(f"No module named {module!r}", name=module)
    with pytest.raises(ModuleNotFoundError):
        main["missing_dependency"](error)


def test_help_explains_the_command_and_writes_nothing(tmp_path: Path) -> None:
    result = run_main(tmp_path, "--help")
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("usage: pipenv run synth [--settings FILE]\n")
    assert "EPOCH_SETTINGS" in result.stdout
    assert "CDKTF_OUTDIR" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus"], "error: unknown argument '--bogus': the only option is --settings FILE"),
        (["--settings="], "error: --settings needs a file path, e.g. --settings prod.toml"),
        (["--settings", "."], "error: .: is a folder, not a settings file; point --settings"),
    ],
)
def test_bad_arguments_are_one_line_and_write_nothing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    result = run_main(tmp_path, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(expected)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "outdir",
    ["cdktf.out", "cdktf.out/stacks"],
)
def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path: Path, outdir: str) -> None:
    """Found before the bindings load: with cdktf made unimportable, the answer is still
    the output folder's line, not the missing package's."""
    (tmp_path / "cdktf.out").write_text("a file where the output folder goes")
    result = run_entry_point(
        MAIN_PY,
        cwd=tmp_path,
        prelude=unimportable("cdktf"),
        env={"CDKTF_OUTDIR": str(tmp_path / outdir)},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"error: {tmp_path / 'cdktf.out'} is a file, not a folder: move it away, "
        "or write elsewhere with CDKTF_OUTDIR=<folder>"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]
    assert (tmp_path / "cdktf.out").read_text() == "a file where the output folder goes"


def test_ctrl_c_is_one_line_and_an_exit_by_sigint(tmp_path: Path) -> None:
    """Ctrl-C part-way (here while the bindings load): no traceback, nothing written, and
    the process still ends by SIGINT, so a calling shell or script sees an interrupt."""
    ctrl_c = "import os, signal, threading; "
    ctrl_c += "threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start(); "
    result = run_entry_point(MAIN_PY, cwd=tmp_path, prelude=ctrl_c)
    assert result.returncode == -signal.SIGINT
    assert result.stdout == ""
    assert result.stderr == "interrupted\n"
    assert list(tmp_path.iterdir()) == []
