"""Gate: checkov finds no failed check in the synthesized Terraform JSON.

A file checkov cannot parse is reported as a parsing error, not a failure, so
the gate also insists on zero parsing errors and on checks having run.
Skips live in .checkov.yaml, each with its reason, except the KMS key-policy
checks: those are skipped per resource (RESOURCE_SKIPS below), so they run on
every other resource of every settings variant. The checkov runs are
background gates (tests/background.py), the scans of the synthesized output
right after synthesis; every scan is checkov's own command line run in a child
of one process that imports checkov once (tests/checkov_scans.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests import checkov_scans
from tests.background import Gate
from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import Synthesized

CONFIG = PROJECT_ROOT / ".checkov.yaml"
# Per-resource skips: check id -> the resources (by address) it may fail on, and why.
# In a KMS key policy the resource "*" means "this key" and AWS accepts nothing
# narrower: these three checks read it as "every resource". Only the key policies
# are skipped: the state key's (bootstrap stack) and the data key's per region.
KEY_POLICIES = re.compile(r"^data\.(state_key_policy|data_key_[a-z0-9_]+_key_policy_[0-9A-F]{8})$")
KEY_POLICY_REASON = 'KMS key policy: resource "*" is the key itself, nothing narrower exists'
RESOURCE_SKIPS: dict[str, tuple[re.Pattern[str], str]] = {
    check: (KEY_POLICIES, KEY_POLICY_REASON)
    for check in ("CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356")
}


def unskipped(failed: list[dict[str, Any]]) -> list[str]:
    """The failed checks no per-resource skip accepts."""
    return [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
        for c in failed
        if not (
            c["check_id"] in RESOURCE_SKIPS
            and RESOURCE_SKIPS[c["check_id"]][0].match(c["resource"])
        )
    ]


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


def scan_insecure_bucket(scratch: Path) -> dict[str, Any]:
    stack = scratch / "stacks" / "insecure"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_s3_bucket": {"plain": {"bucket": "plain-bucket"}}}})
    )
    return run_checkov(scratch, "--config-file", str(CONFIG))


EVERY_VARIANT = Gate("checkov", scan_every_variant, after_synth=True)
INSECURE_BUCKET = Gate("checkov insecure bucket", scan_insecure_bucket)


@pytest.mark.background(EVERY_VARIANT)
def test_checkov_passes_with_zero_failures(synthesized_apps: dict[str, Synthesized]) -> None:
    report = EVERY_VARIANT.result()
    summary = report["summary"]
    failed = report.get("results", {}).get("failed_checks", [])
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0, "checkov ran no checks"
    assert unskipped(failed) == []
    scanned = {c["file_path"] for c in report["results"]["passed_checks"]}
    for name in synthesized_apps:
        assert any(path.startswith(f"/{name}/") for path in scanned), f"{name} was not scanned"
        # The key-policy checks ran on this variant: passed on its other policies,
        # failed (and skipped per resource) on its key policies only.
        for check in RESOURCE_SKIPS:
            ran = [
                c
                for c in report["results"]["passed_checks"] + failed
                if c["check_id"] == check and c["file_path"].startswith(f"/{name}/")
            ]
            assert any(c in failed for c in ran), (name, check)
            assert any(c not in failed for c in ran), (name, check)


def test_a_per_resource_skip_accepts_only_its_resources() -> None:
    def failure(check: str, resource: str) -> dict[str, Any]:
        return {"check_id": check, "file_path": "/x", "resource": resource, "check_name": "n"}

    accepted = failure("CKV_AWS_111", "data.data_key_us_west_2_key_policy_53658AA3")
    assert unskipped([accepted, failure("CKV_AWS_111", "data.state_key_policy")]) == []
    rejected = [
        failure("CKV_AWS_111", "data.deploy_state_data_access_4C9C8329"),
        failure("CKV_AWS_18", "data.state_key_policy"),
    ]
    assert len(unskipped(rejected)) == 2


@pytest.mark.background(INSECURE_BUCKET)
def test_gate_fails_on_an_insecure_bucket() -> None:
    # The gate can fail: an unencrypted, unversioned bucket is flagged.
    report = INSECURE_BUCKET.result()
    assert report["summary"]["failed"] > 0
    # Its report is its own: no result of another scan in the same checkov process.
    results = report["results"]["passed_checks"] + report["results"]["failed_checks"]
    assert {c["file_path"] for c in results} == {"/stacks/insecure/cdk.tf.json"}
