"""Gate: checkov finds no failed check in the synthesized Terraform JSON.

A file checkov cannot parse is reported as a parsing error, not a failure, so
the gate also insists on zero parsing errors and on checks having run.
Skips live in .checkov.yaml, each with its reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import Synthesized
from tests.infra.helpers import is_key_policy

CHECKOV = Path(sys.executable).with_name("checkov")
CONFIG = PROJECT_ROOT / ".checkov.yaml"
# Skipped globally because they only fire on KMS key policies (resource "*" is
# the key itself there); see .checkov.yaml and test_key_policy_checks_fire_only_on_key_policies.
KEY_POLICY_CHECKS = {"CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"}


def run_checkov(directory: Path, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "terraform_json",
            "--output",
            "json",
            "--compact",
            "--skip-download",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=directory,
    )
    assert result.stdout.strip(), f"checkov printed nothing; stderr:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    # One framework -> one report object; with no failures checkov may print a bare summary.
    if isinstance(report, list):
        (report,) = report
    assert isinstance(report, dict)
    return report


def test_checkov_passes_with_zero_failures(
    synthesized_apps: dict[str, Synthesized], synth_root: Path
) -> None:
    # One run over every variant's output (they share one parent folder).
    report = run_checkov(synth_root, "--config-file", str(CONFIG))
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0, "checkov ran no checks"
    assert summary["failed"] == 0, "\n".join(failed)
    scanned = {c["file_path"] for c in report["results"]["passed_checks"]}
    for name in synthesized_apps:
        assert any(path.startswith(f"/{name}/") for path in scanned), f"{name} was not scanned"


def test_key_policy_checks_fire_only_on_key_policies(default_app: Synthesized) -> None:
    report = run_checkov(default_app.outdir, "--check", ",".join(sorted(KEY_POLICY_CHECKS)))
    failed = report.get("results", {}).get("failed_checks", [])
    assert failed, "expected the key-policy checks to run and flag the key policies"
    resources = {c["resource"] for c in failed}
    assert all(is_key_policy(r) for r in resources), resources


def test_gate_fails_on_an_insecure_bucket(tmp_path: Path) -> None:
    # The gate can fail: an unencrypted, unversioned bucket is flagged.
    stack = tmp_path / "stacks" / "insecure"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_s3_bucket": {"plain": {"bucket": "plain-bucket"}}}})
    )
    report = run_checkov(tmp_path, "--config-file", str(CONFIG))
    assert report["summary"]["failed"] > 0
