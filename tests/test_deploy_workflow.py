"""deploy.yml applies the reviewed saved plan, and only that (docs/pipeline.md).

The plan job saves a plan and summarizes it; the apply job, in the same protected
environment (a second approval), applies that saved file with Terraform, which
refuses it if the state moved on since: shown here with the real Terraform CLI on
a configuration that needs no provider.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / ".github" / "workflows" / "deploy.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DEPLOY.read_text())
    return loaded


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_plan_then_approval_then_apply_of_the_saved_plan(workflow: dict[str, Any]) -> None:
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert apply["needs"] == "plan"
    # The role trusts only this environment; its reviewers approve each job.
    assert plan["environment"] == apply["environment"] == "production"
    assert "terraform plan -lock-timeout=10m -out=tfplan" in scripts(plan)
    assert "GITHUB_STEP_SUMMARY" in scripts(plan)
    uploads = [s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    downloads = [
        s for s in apply["steps"] if s.get("uses", "").startswith("actions/download-artifact")
    ]
    assert (
        [s["with"]["name"] for s in uploads] == [s["with"]["name"] for s in downloads] == ["plan"]
    )
    assert "terraform apply -lock-timeout=10m tfplan" in scripts(apply)
    assert "terraform init -lockfile=readonly" in scripts(apply)


def test_nothing_applies_without_the_saved_plan(workflow: dict[str, Any]) -> None:
    text = DEPLOY.read_text()
    assert "auto-approve" not in text
    assert "cdktf deploy" not in text
    assert "terraform plan" not in scripts(workflow["jobs"]["apply"])


def test_the_workflow_never_bootstraps_nor_keeps_state(workflow: dict[str, Any]) -> None:
    text = DEPLOY.read_text()
    assert "stacks/remote-state" not in text
    assert "deploy remote-state" not in text
    assert "tfstate" not in text
    # The plan job makes the checks `pipenv run deploy` makes (tests/test_ops.py):
    # example settings refused, the bootstrap's bucket required.
    check = scripts(workflow["jobs"]["plan"])
    assert "python -m epoch_ops.preflight deploy epoch-register" in check


def test_terraform_refuses_a_stale_saved_plan(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    assert terraform, "Terraform is not on PATH"
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {\n  input = "a"\n}\n')
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}

    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [terraform, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    assert tf("init").returncode == 0
    assert tf("plan", "-out=tfplan").returncode == 0
    # Another apply moves the state on while the saved plan waits for approval.
    assert tf("apply", "-auto-approve").returncode == 0
    stale = tf("apply", "tfplan")
    assert stale.returncode == 1
    assert "Saved plan is stale" in stale.stdout + stale.stderr
