"""Gate: the GitHub Actions workflows lint clean with actionlint, zizmor (offline)
and checkov's GitHub Actions checks; and each linter catches a bad workflow.

Accepted findings: none (each linter reports 0 on .github/workflows).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import checkov_scans
from tests.background import Gate
from tests.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"

# Everything wrong at once: a fork-triggered workflow with write-all, an unpinned
# action that keeps the token on disk, a PR title expanded into a shell script,
# and a workflow_dispatch input that changes what is built.
BAD_WORKFLOW = """\
name: bad
on:
  pull_request_target:
  workflow_dispatch:
    inputs:
      who:
        description: who
        required: false
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def run(*command: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def write_bad_workflows(root: Path) -> Path:
    folder = root / "repo" / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(BAD_WORKFLOW)
    return folder


@pytest.fixture
def bad_workflows(tmp_path: Path) -> Path:
    return write_bad_workflows(tmp_path)


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS.glob("*.yml")} >= {"ci.yml", "deploy.yml"}


def actionlint(folder: Path) -> list[dict[str, Any]]:
    result = run(str(BIN / "actionlint"), "-format", "{{json .}}", *map(str, folder.glob("*.yml")))
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def test_actionlint_is_clean() -> None:
    assert actionlint(WORKFLOWS) == []


def test_actionlint_catches_a_bad_workflow(bad_workflows: Path) -> None:
    messages = [f["message"] for f in actionlint(bad_workflows)]
    assert any("potentially untrusted" in m for m in messages), messages


def zizmor(folder: Path) -> list[str]:
    result = run(str(BIN / "zizmor"), "--offline", "--format", "json", str(folder))
    findings = json.loads(result.stdout)
    # zizmor exits 0 without findings, 10-14 by the worst finding's severity.
    assert (result.returncode == 0) == (not findings), result.stderr
    return [finding["ident"] for finding in findings]


def test_zizmor_is_clean() -> None:
    assert zizmor(WORKFLOWS) == []


def test_zizmor_catches_a_bad_workflow(bad_workflows: Path) -> None:
    found = set(zizmor(bad_workflows))
    assert {"template-injection", "unpinned-uses", "artipacked", "dangerous-triggers"} <= found


def checkov(folder: Path, cwd: Path) -> dict[str, Any]:
    # Run from a scratch folder: the project's .checkov.yaml is for terraform_json.
    result = checkov_scans.run(
        cwd,
        "--directory",
        str(folder),
        "--framework",
        "github_actions",
        "--skip-download",
        "--quiet",
        "--compact",
        "--output",
        "json",
    )
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# checkov takes seconds a scan: both run on background workers (tests/background.py), in
# the session's one checkov process (tests/checkov_scans.py).
CHECKOV_WORKFLOWS = Gate("checkov workflows", lambda scratch: checkov(WORKFLOWS, scratch))
CHECKOV_BAD = Gate(
    "checkov bad workflow", lambda scratch: checkov(write_bad_workflows(scratch), scratch)
)


@pytest.mark.background(CHECKOV_WORKFLOWS)
def test_checkov_github_actions_checks_pass() -> None:
    report = CHECKOV_WORKFLOWS.result()
    assert report["summary"]["parsing_errors"] == 0
    assert report["results"]["failed_checks"] == []
    assert report["summary"]["passed"] > 0  # checks ran


@pytest.mark.background(CHECKOV_BAD)
def test_checkov_catches_a_bad_workflow() -> None:
    report = CHECKOV_BAD.result()
    failed = {check["check_id"] for check in report["results"]["failed_checks"]}
    # write-all, workflow_dispatch inputs, shell injection
    assert {"CKV2_GHA_1", "CKV_GHA_7", "CKV_GHA_2"} <= failed
    # Its report is its own: no finding of another scan in the same checkov process.
    assert {check["file_path"] for check in report["results"]["failed_checks"]} == {"/bad.yml"}
