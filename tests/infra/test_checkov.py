"""Gate: checkov finds no failed check in the synthesized Terraform JSON.

A file checkov cannot parse is reported as a parsing error, not a failure, so
the gate also insists on zero parsing errors and on checks having run.
Skips live in .checkov.yaml, each with its reason. The checkov runs are
background gates (tests/background.py), the scans of the synthesized output
right after synthesis; every scan is checkov's own command line run in a child
of one process that imports checkov once (tests/checkov_scans.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import checkov_scans
from tests.background import Gate
from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import Synthesized
from tests.infra.helpers import is_key_policy

CONFIG = PROJECT_ROOT / ".checkov.yaml"
# Skipped globally because they only fire on KMS key policies (resource "*" is
# the key itself there); see .checkov.yaml and test_key_policy_checks_fire_only_on_key_policies.
KEY_POLICY_CHECKS = {"CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"}


def run_checkov(directory: Path, *extra: str) -> dict[str, Any]:
    result = checkov_scans.run(
        directory,
        "--directory",
        str(directory),
        "--framework",
        "terraform_json",
        "--output",
        "json",
        "--compact",
        "--skip-download",
        *extra,
    )
    assert result.stdout.strip(), f"checkov printed nothing; stderr:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    # One framework -> one report object; with no failures checkov may print a bare summary.
    if isinstance(report, list):
        (report,) = report
    assert isinstance(report, dict)
    return report


def scan_every_variant(
    _scratch: Path, _apps: dict[str, Synthesized], synth_root: Path
) -> dict[str, Any]:
    # One run over every variant's output (they share one parent folder).
    return run_checkov(synth_root, "--config-file", str(CONFIG))


def scan_key_policy_checks(
    _scratch: Path, apps: dict[str, Synthesized], _synth_root: Path
) -> dict[str, Any]:
    return run_checkov(apps["default"].outdir, "--check", ",".join(sorted(KEY_POLICY_CHECKS)))


def scan_insecure_bucket(scratch: Path) -> dict[str, Any]:
    stack = scratch / "stacks" / "insecure"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_s3_bucket": {"plain": {"bucket": "plain-bucket"}}}})
    )
    return run_checkov(scratch, "--config-file", str(CONFIG))


EVERY_VARIANT = Gate("checkov", scan_every_variant, after_synth=True)
KEY_POLICY = Gate("checkov key-policy checks", scan_key_policy_checks, after_synth=True)
INSECURE_BUCKET = Gate("checkov insecure bucket", scan_insecure_bucket)


@pytest.mark.background(EVERY_VARIANT)
def test_checkov_passes_with_zero_failures(synthesized_apps: dict[str, Synthesized]) -> None:
    report = EVERY_VARIANT.result()
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


@pytest.mark.background(KEY_POLICY)
def test_key_policy_checks_fire_only_on_key_policies(default_app: Synthesized) -> None:
    report = KEY_POLICY.result()
    failed = report.get("results", {}).get("failed_checks", [])
    assert failed, "expected the key-policy checks to run and flag the key policies"
    resources = {c["resource"] for c in failed}
    assert all(is_key_policy(r) for r in resources), resources


@pytest.mark.background(INSECURE_BUCKET)
def test_gate_fails_on_an_insecure_bucket() -> None:
    # The gate can fail: an unencrypted, unversioned bucket is flagged.
    report = INSECURE_BUCKET.result()
    assert report["summary"]["failed"] > 0
    # Its report is its own: no result of another scan in the same checkov process.
    results = report["results"]["passed_checks"] + report["results"]["failed_checks"]
    assert {c["file_path"] for c in results} == {"/stacks/insecure/cdk.tf.json"}
