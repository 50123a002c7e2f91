"""The plan gate: one `terraform init` and one `terraform plan` judge every stack, offline.

Each unique stack (byte-identical stacks are judged once) is copied into a
scratch folder with the provider pin moved to the mirrored provider (when there
is a mirror) and the provider's offline settings. The copies are called as
child modules of one root configuration, which also re-exports every stack
output, so that one `init` and one `plan -json` (fake credentials, a loopback
STS: see `offline_sts`) judge them all. `terraform plan` validates the whole
configuration before it plans; a validation error anywhere stops the plan.

What Terraform and the real AWS provider say is sorted back to each stack by
module address and file name, with stack-local addresses; planned changes are
counted per stack from the plan's `planned_change` messages. A warning or
error passes only if `ACCEPTED` names it with a reason. The two warnings that
exist only because a stack is called as a child module (`HARNESS_WARNINGS`)
are dropped; nothing else is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import resource
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.offline_sts import OfflineSts
from rehearsal.repeated_acls import Repeat, leave_out_repeats
from rehearsal.terraform import (
    OFFLINE_PROVIDER_SETTINGS,
    STACK_FILE,
    Diagnostic,
    ProviderMirror,
    Result,
    TerraformCli,
    TerraformError,
    address_at_line,
    diagnostic_from_json,
    find_provider_mirror,
    find_terraform,
    json_messages,
    prepare_workspace,
    run,
    scratch_folder,
    terraform_env,
    write_cli_config,
)

# Opting out is the only way to pass the test command without Terraform.
SKIP_ENV = "EPOCH_SKIP_TERRAFORM_GATE"
INIT_TIMEOUT = 300.0
PLAN_TIMEOUT = 900.0
# Go's garbage collector target for Terraform and the provider processes it starts
# (they inherit its environment): loading the AWS provider's schema allocates a
# lot, and 400 instead of Go's default 100 cut a root stack's plan from about 11
# to 8 CPU seconds for about 150 MB more per process. A GOGC of the caller wins.
GOGC = "400"
PLAN_ARGS = ("plan", "-json", "-refresh=false", "-input=false", "-lock=false", "-no-color")
# The gate's root configuration: one module call per stack, and the stacks' outputs.
ROOT_FILE = "main.tf.json"
# What `cdktf synth --hcl` writes instead of STACK_FILE.
HCL_STACK_FILE = "cdk.tf"
# The plan, saved when the gate reports planned values (`terraform show -json`).
SAVED_PLAN = "gate.tfplan"
SHOW_TIMEOUT = 300.0

# Warnings Terraform gives a stack only because the gate calls it as a child
# module; as a root module (how users run it) the stack gets neither. Dropped
# only when they come from a stack's own files (see `harness_caused`).
HARNESS_WARNINGS: Mapping[str, str] = {
    "Backend configuration ignored": (
        "a backend block counts only in the root module; the gate never used the stack's "
        "backend (it replaced it by a local state file before it judged stacks together)"
    ),
    "Redundant empty provider block": (
        "Terraform tests a child module's provider block for emptiness without the keys "
        "an override file merges in, so the gate's provider override makes every block "
        "look empty; provider blocks of a root module are never tested"
    ),
}


@dataclass(frozen=True)
class Accepted:
    """A diagnostic the gate lets pass, and why. Patterns are regexes searched in the fields."""

    severity: str
    summary: str
    detail: str
    reason: str
    address: str = ""

    def matches(self, diagnostic: Diagnostic) -> bool:
        return (
            diagnostic.severity == self.severity
            and diagnostic.summary == self.summary
            and re.search(self.detail, diagnostic.detail) is not None
            and re.search(self.address, diagnostic.address) is not None
        )


# cdktf 0.21's HCL output writes the references of these meta-arguments quoted
# (`provider = "aws.us_west_2"`, `depends_on = ["aws_x.y"]`), where its JSON
# output needs no quotes; Terraform 1.x reads them and warns. `hcl_meta_argument`
# names the meta-argument in the diagnostic's address.
QUOTED_META_ARGUMENTS = ("provider", "depends_on", "ignore_changes")

# Every diagnostic the provider raises on our stacks that the gate accepts.
ACCEPTED: tuple[Accepted, ...] = (
    Accepted(
        severity="warning",
        summary="Quoted references are deprecated",
        detail=r"^In this context, references are expected literally rather than in quotes",
        address=rf" \((?:{'|'.join(QUOTED_META_ARGUMENTS)})\)$",
        reason=(
            "cdktf 0.21's HCL output (`cdktf synth --hcl`; not its JSON) quotes the "
            "references of provider, depends_on and lifecycle.ignore_changes; Terraform "
            "reads them as references"
        ),
    ),
)

# How Terraform says an argument or block is not in the provider's schema: from
# JSON configuration (what cdktf writes), and from native syntax.
_UNKNOWN_TO_PROVIDER = re.compile(
    r'No argument or block type is named "(?P<json>[^"]+)"'
    r'|(?:An argument|Blocks of type) (?:named )?"(?P<hcl>[^"]+)"'
)


@dataclass
class StackVerdict:
    """What Terraform and the provider said about one stack."""

    label: str
    judged_by: str = ""
    bindings_version: str = ""
    provider_version: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Why the stack has no plan (a failed init, errors here or in another stack).
    failure: str = ""
    planned: dict[str, int] = field(default_factory=dict)
    # Another stack with byte-identical files, whose verdict this one shares.
    same_as: str = ""
    # With `run_plan_gate(show=True)`: each planned resource (stack-local address)
    # -> its planned actions and values, from `terraform show -json` of the plan.
    planned_values: dict[str, Any] = field(default_factory=dict)
    # Web ACLs left out of this stack's copy: each repeats one planned elsewhere
    # but for its region (rehearsal/repeated_acls.py).
    repeats: tuple[Repeat, ...] = ()

    def describe(self, diagnostic: Diagnostic) -> str:
        """One line; an unknown argument is named as the bindings-vs-provider gap it is."""
        match = _UNKNOWN_TO_PROVIDER.search(diagnostic.detail)
        if match is not None and self.bindings_version != self.provider_version:
            return (
                f"{diagnostic.severity}: {diagnostic.address}: bindings {self.bindings_version} "
                f"argument {match['json'] or match['hcl']!r} unknown to provider "
                f"{self.provider_version} ({diagnostic.summary})"
            )
        return diagnostic.line()

    def accepted(self, rules: Sequence[Accepted] = ACCEPTED) -> list[tuple[Diagnostic, Accepted]]:
        found = []
        for diagnostic in self.diagnostics:
            rule = next((a for a in rules if a.matches(diagnostic)), None)
            if rule is not None:
                found.append((diagnostic, rule))
        return found

    def problems(self, rules: Sequence[Accepted] = ACCEPTED) -> list[str]:
        """Every diagnostic no rule accepts, and any failure: the gate passes when empty."""
        lines = [f"{self.label}: {self.failure}"] if self.failure else []
        for diagnostic in self.diagnostics:
            if not any(rule.matches(diagnostic) for rule in rules):
                lines.append(f"{self.label}: {self.describe(diagnostic)}")
        return lines

    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def summary(self) -> str:
        if self.same_as:
            return f"{self.label}: identical to {self.same_as}, judged once"
        plan = ", ".join(f"{count} to {action}" for action, count in self.planned.items())
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        warnings = len(self.diagnostics) - errors
        repeats = sorted({r.planned for r in self.repeats})
        left_out = (
            f"; {len(self.repeats)} web ACL(s) planned once already, at {', '.join(repeats)}"
            if repeats
            else ""
        )
        return (
            f"{self.label}: {self.judged_by}; plan: {plan or 'none'}; "
            f"{errors} errors, {warnings} warnings ({len(self.accepted())} accepted){left_out}"
        )


@dataclass(frozen=True)
class GateReport:
    """The verdicts of every stack, what belongs to no stack, and the gate's times."""

    terraform: str
    mirror: str
    verdicts: tuple[StackVerdict, ...]
    seconds: float
    # CPU time of the Terraform processes and their providers (and of any other
    # child process of this one that ended meanwhile).
    cpu_seconds: float
    # Wall seconds of the shared steps (init, plan).
    steps: Mapping[str, float] = field(default_factory=dict)
    # Diagnostics of the gate's own root configuration: they fail the gate.
    unattributed: tuple[Diagnostic, ...] = ()

    def problems(self) -> list[str]:
        own = [f"plan gate: {d.line()}" for d in self.unattributed]
        return [*own, *(line for verdict in self.verdicts for line in verdict.problems())]

    def lines(self) -> list[str]:
        judged = sum(1 for v in self.verdicts if not v.same_as)
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in self.steps.items())
        head = (
            f"plan gate: {len(self.verdicts)} stacks in {self.seconds:.1f} s wall, "
            f"{self.cpu_seconds:.0f} s CPU of child processes ended meanwhile "
            f"(Terraform {self.terraform}, provider from "
            f"{self.mirror}; {judged} judged in one configuration: {steps or 'no step ran'})"
        )
        counted: dict[str, int] = {}
        for verdict in self.verdicts:
            for diagnostic, rule in verdict.accepted():
                kind = re.sub(r"^.* \((\w+)\)$", r"\1", diagnostic.address)
                what = f"{verdict.label}: {diagnostic.severity}: {diagnostic.summary}"
                if kind != diagnostic.address:
                    what += f" ({kind})"
                line = f"{what} -- {rule.reason}"
                counted[line] = counted.get(line, 0) + 1
        accepted = [f"  accepted {count}x: {line}" for line, count in counted.items()]
        own = [f"  plan gate: {d.line()}" for d in self.unattributed]
        return [head, *own, *(f"  {v.summary()}" for v in self.verdicts), *accepted]


def unavailable_message(error: TerraformError) -> str:
    """The one line the test command prints when the gate cannot run."""
    return f"plan gate: {error}; or set {SKIP_ENV}=1 to skip this gate"


@dataclass(frozen=True)
class StackModule:
    """One stack's scratch copy, called as module `name` of the gate's root configuration."""

    label: str
    name: str
    # The stack's JSON as Terraform reads it (for addresses from line numbers).
    text: str
    # The stack's output blocks, by output name.
    output_blocks: Mapping[str, Mapping[str, Any]]
    # An HCL stack (`cdktf synth --hcl`): `text` is its cdk.tf.
    hcl: bool = False

    @property
    def outputs(self) -> dict[str, str]:
        """Root output name -> the stack's output name."""
        return {f"{self.name}__{output}": output for output in self.output_blocks}


def run_plan_gate(
    stacks: Mapping[str, Path],
    *,
    scratch: Path | None = None,
    hcl_twins: Mapping[str, str] | None = None,
    show: bool = False,
    every_acl: bool = False,
) -> GateReport:
    """Judge every stack (label -> synthesized stack folder) with one init and one plan.

    Scratch copies go under `scratch` (kept) or a temporary folder (removed).
    `hcl_twins`: label of an HCL stack folder (`cdktf synth --hcl`) -> label of
    the JSON stack it was synthesized with, whose override files it gets. With
    `show`, the plan is saved and each verdict gets its `planned_values`. A web
    ACL that repeats one already planned but for its region is left out
    (rehearsal/repeated_acls.py) unless `every_acl`; a JSON stack with an HCL
    twin keeps all of its ACLs, since the two plans are compared.
    """
    twins = hcl_twins or {}
    started = time.monotonic()
    cpu_before = _children_cpu()
    terraform = find_terraform()
    mirror = find_provider_mirror(terraform.platform)
    root = scratch or scratch_folder("epoch-plan-gate-")
    steps: dict[str, float] = {}
    unattributed: list[Diagnostic] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        cli_config = write_cli_config(mirror, root) if mirror is not None else None
        # Identical stacks (the remote-state stack of most variants) are judged once.
        fingerprints = {label: _fingerprint(path) for label, path in stacks.items()}
        first: dict[str, str] = {}
        for label, fingerprint in fingerprints.items():
            first.setdefault(fingerprint, label)
        modules, judged = _stack_modules(
            stacks, list(first.values()), root, mirror=mirror, twins=twins, every_acl=every_acl
        )
        root_text = _root_configuration(modules)
        (root / ROOT_FILE).write_text(root_text, encoding="utf-8")
        with OfflineSts() as sts:
            extra = {"AWS_ENDPOINT_URL_STS": sts.url, "GOGC": os.environ.get("GOGC", GOGC)}
            env = terraform_env(cli_config, extra=extra)
            try:
                unattributed = _init_and_plan(
                    terraform, root, env, (modules, judged, root_text), steps=steps, show=show
                )
            except (TerraformError, ValueError) as error:
                _fail_all(judged, f"{type(error).__name__}: {error}")
        verdicts = tuple(
            judged[label] if label in judged else _shared(judged[first[fingerprint]], label)
            for label, fingerprint in fingerprints.items()
        )
    finally:
        if scratch is None:
            shutil.rmtree(root, ignore_errors=True)
    return GateReport(
        terraform=terraform.version_text,
        mirror=str(mirror.root) if mirror is not None else "the registry (no local mirror)",
        verdicts=verdicts,
        seconds=time.monotonic() - started,
        cpu_seconds=_children_cpu() - cpu_before,
        steps=steps,
        unattributed=tuple(unattributed),
    )


def _stack_modules(
    stacks: Mapping[str, Path],
    labels: list[str],
    root: Path,
    *,
    mirror: ProviderMirror | None,
    twins: Mapping[str, str],
    every_acl: bool,
) -> tuple[dict[str, StackModule], dict[str, StackVerdict]]:
    """Each stack's scratch copy under `root` as a module, and its (empty) verdict."""
    judged: dict[str, StackVerdict] = {}
    modules: dict[str, StackModule] = {}
    planned_acls: dict[str, str] = {}
    # The stacks compared with an HCL twin first: their ACLs are all planned.
    for label in sorted(labels, key=lambda label: label not in twins.values()):
        name = _module_name(label, taken=modules.keys())
        workspace = prepare_workspace(
            stacks[twins.get(label, label)],
            root / name,
            mirror=mirror,
            # A backend block of a child module is ignored (see HARNESS_WARNINGS).
            backend="keep",
            provider_settings=OFFLINE_PROVIDER_SETTINGS,
        )
        repeats: list[Repeat] = []
        if label not in twins and not every_acl:
            repeats = _leave_out_repeats(
                workspace.path / STACK_FILE, label, planned_acls, label in twins.values()
            )
        text = (workspace.path / STACK_FILE).read_text(encoding="utf-8")
        outputs = json.loads(text).get("output", {})
        if label in twins:
            text = _use_hcl_stack(stacks[label], workspace.path)
        modules[name] = StackModule(
            label=label, name=name, text=text, output_blocks=outputs, hcl=label in twins
        )
        judged[label] = StackVerdict(
            label=label,
            judged_by=workspace.judged_by,
            bindings_version=workspace.bindings_version,
            provider_version=workspace.provider_version,
            repeats=tuple(repeats),
        )
    return modules, judged


def _init_and_plan(
    terraform: TerraformCli,
    root: Path,
    env: Mapping[str, str],
    configuration: tuple[Mapping[str, StackModule], Mapping[str, StackVerdict], str],
    *,
    steps: dict[str, float],
    show: bool,
) -> list[Diagnostic]:
    """`terraform init` and `plan` (and `show` of the saved plan) in `root`, into the verdicts.

    `configuration`: the modules, their verdicts by label, the root configuration's
    text. Returns the diagnostics that belong to no stack.
    """
    modules, judged, root_text = configuration
    init = run(
        terraform, ("init", "-input=false", "-no-color"), cwd=root, env=env, timeout=INIT_TIMEOUT
    )
    steps["init"] = init.seconds
    if init.returncode != 0:
        _fail_all(judged, f"terraform init failed: {_tail(init)}")
        return []
    args = (*PLAN_ARGS, f"-out={SAVED_PLAN}") if show else PLAN_ARGS
    plan = run(terraform, args, cwd=root, env=env, timeout=PLAN_TIMEOUT)
    steps["plan"] = plan.seconds
    unattributed = judge_plan(plan, modules, judged, root_text)
    if show and plan.returncode == 0:
        shown = run(
            terraform,
            ("show", "-json", "-no-color", SAVED_PLAN),
            cwd=root,
            env=env,
            timeout=SHOW_TIMEOUT,
        )
        steps["show"] = shown.seconds
        if shown.returncode != 0:
            raise TerraformError(f"terraform show failed: {_tail(shown)}")
        for name, values in planned_values(json.loads(shown.stdout)).items():
            if name in modules:
                judged[modules[name].label].planned_values = values
    return unattributed


def run_plan_gate_in_batches(
    batches: Sequence[Mapping[str, Path]],
    *,
    scratch: Path,
    hcl_twins: Mapping[str, str],
) -> GateReport:
    """`run_plan_gate(show=True)` once per batch of stacks, as one report.

    For many stacks at once: one plan starts a provider process per provider
    block of every stack, so the batches bound the memory. An HCL stack must be
    in its JSON twin's batch. Every ACL is planned (they are compared).
    """
    reports = [
        run_plan_gate(
            batch,
            scratch=scratch / f"batch-{number}",
            hcl_twins={h: j for h, j in hcl_twins.items() if h in batch},
            show=True,
            every_acl=True,
        )
        for number, batch in enumerate(batches, 1)
    ]
    steps: dict[str, float] = {}
    for report in reports:
        for step, seconds in report.steps.items():
            steps[step] = steps.get(step, 0.0) + seconds
    return GateReport(
        terraform=reports[0].terraform,
        mirror=reports[0].mirror,
        verdicts=tuple(v for report in reports for v in report.verdicts),
        seconds=sum(report.seconds for report in reports),
        cpu_seconds=sum(report.cpu_seconds for report in reports),
        steps=steps,
        unattributed=tuple(d for report in reports for d in report.unattributed),
    )


def _leave_out_repeats(
    path: Path, label: str, planned: dict[str, str], keep_all: bool
) -> list[Repeat]:
    """`repeated_acls.leave_out_repeats` on a scratch copy's stack file."""
    stack = json.loads(path.read_text(encoding="utf-8"))
    repeats = leave_out_repeats(stack, label, planned, keep_all=keep_all)
    if repeats:
        path.write_text(json.dumps(stack, indent=2), encoding="utf-8")
    return repeats


def judge_plan(
    plan: Result,
    modules: Mapping[str, StackModule],
    verdicts: Mapping[str, StackVerdict],
    root_text: str,
) -> list[Diagnostic]:
    """Sort one `plan -json` over every stack module into the stacks' verdicts.

    `verdicts` is by label. Returns the diagnostics that belong to no stack.
    """
    reading = _PlanReading(modules, verdicts, root_text)
    for message in json_messages(plan.stdout):
        reading.take(message)
    errored = [v.label for v in verdicts.values() if v.has_errors()]
    root_errors = any(d.severity == "error" for d in reading.unattributed)
    if plan.returncode != 0 or errored or root_errors or reading.summary is None:
        for verdict in verdicts.values():
            verdict.failure = _failure(plan, verdict, errored, root_errors, reading.summary)
        return reading.unattributed
    _check_totals(reading.counts, reading.summary)
    for name, module in modules.items():
        verdicts[module.label].planned = reading.counts[name]
    return reading.unattributed


class _PlanReading:
    """What the messages of one `plan -json` say, stack by stack: diagnostics go straight to
    the stack's verdict; planned changes are counted per stack module."""

    def __init__(
        self,
        modules: Mapping[str, StackModule],
        verdicts: Mapping[str, StackVerdict],
        root_text: str,
    ) -> None:
        self.modules, self.verdicts, self.root_text = modules, verdicts, root_text
        self.unattributed: list[Diagnostic] = []
        self.counts = {name: dict.fromkeys(("add", "change", "remove"), 0) for name in modules}
        self.summary: Mapping[str, Any] | None = None

    def take(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "diagnostic":
            self._diagnostic(message["diagnostic"])
        elif kind == "planned_change":
            self._planned_change(message["change"])
        elif kind == "change_summary":
            self.summary = message["changes"]

    def _diagnostic(self, raw: Mapping[str, Any]) -> None:
        located = locate(raw, self.modules, self.root_text)
        if located is None:
            self.unattributed.append(diagnostic_from_json(raw, self.root_text))
            return
        module, local = located
        if harness_caused(local):
            return
        verdict = self.verdicts[module.label]
        diagnostic = diagnostic_from_json(local, module.text)
        if module.hcl:
            diagnostic = _hcl_located(diagnostic, local, module.text)
        if diagnostic not in verdict.diagnostics:
            verdict.diagnostics.append(diagnostic)

    def _planned_change(self, change: Mapping[str, Any]) -> None:
        name = _module_of(str(change["resource"]["addr"]))
        if name not in self.counts:
            raise ValueError(f"planned change outside every stack: {change['resource']}")
        for action in _COUNTED.get(str(change["action"]), ()):
            self.counts[name][action] += 1


def _failure(
    plan: Result,
    verdict: StackVerdict,
    errored: list[str],
    root_errors: bool,
    summary: Mapping[str, Any] | None,
) -> str:
    """Why `verdict`'s stack was not judged when the plan did not run through."""
    if verdict.has_errors():
        return "not planned: terraform plan stopped at this stack's errors"
    if errored:
        others = ", ".join(label for label in errored if label != verdict.label)
        return f"not planned: terraform plan stopped at errors in {others}"
    if root_errors:
        return (
            "not planned: terraform plan stopped at errors in the plan gate's own "
            "root configuration"
        )
    if summary is None and plan.returncode == 0:
        return f"terraform plan printed no change summary: {_tail(plan)}"
    return f"terraform plan exited {plan.returncode}: {_tail(plan)}"


def _check_totals(counts: Mapping[str, Mapping[str, int]], summary: Mapping[str, Any]) -> None:
    """The per-stack counts must add up to Terraform's own change summary."""
    totals = {
        action: sum(c[action] for c in counts.values()) for action in ("add", "change", "remove")
    }
    expected = {action: int(summary.get(action, 0)) for action in totals}
    if totals != expected:
        raise ValueError(
            f"planned changes per stack {totals} do not add up to terraform's summary {expected}"
        )


# How each `planned_change` action counts in Terraform's change summary (a data
# source's read counts nowhere; a replacement adds and removes).
_COUNTED: Mapping[str, tuple[str, ...]] = {
    "create": ("add",),
    "update": ("change",),
    "delete": ("remove",),
    "replace": ("add", "remove"),
}


def locate(
    raw: Mapping[str, Any], modules: Mapping[str, StackModule], root_text: str
) -> tuple[StackModule, dict[str, Any]] | None:
    """The stack module a diagnostic of the root configuration's plan belongs to, and the
    diagnostic as the stack alone would have had it (stack-local address and file name).

    None: it belongs to the gate's root configuration (or to nothing).
    """
    address = str(raw.get("address") or "")
    where: Mapping[str, Any] = raw.get("range") or {}
    filename = str(where.get("filename", ""))
    if address.startswith("module."):
        name = _module_of(address)
        if name in modules:
            local = dict(raw, address=address[len(f"module.{name}.") :])
            if filename.startswith(f"{name}/"):
                local["range"] = dict(where, filename=filename[len(name) + 1 :])
            return modules[name], local
    folder, _, rest = filename.partition("/")
    if folder in modules and rest:
        return modules[folder], dict(raw, range=dict(where, filename=rest))
    if filename == ROOT_FILE:
        # The root configuration holds each stack's module call and re-exported outputs.
        found = address_at_line(root_text, int(where.get("start", {}).get("line", 0))) or ""
        kind, _, key = found.partition(".")
        for module in modules.values():
            if kind == "output" and key in module.outputs:
                return module, {**raw, "address": f"output.{module.outputs[key]}", "range": None}
            if kind == "module" and key == module.name:
                return module, {**raw, "address": "(module call)", "range": None}
    return None


def _hcl_located(diagnostic: Diagnostic, local: Mapping[str, Any], text: str) -> Diagnostic:
    """An HCL stack's quoted meta-argument reference, addressed by its block and meta-argument."""
    where = local.get("range") or {}
    if where.get("filename") != HCL_STACK_FILE:
        return diagnostic
    found = hcl_meta_argument(text, int(where.get("start", {}).get("line", 0)))
    return diagnostic._replace(address=found) if found else diagnostic


def harness_caused(local: Mapping[str, Any]) -> bool:
    """A warning (stack-local, see `locate`) that exists only because a stack is a child module."""
    where = local.get("range") or {}
    return (
        local.get("severity") == "warning"
        and str(local.get("summary")) in HARNESS_WARNINGS
        and not local.get("address")
        and where.get("filename") in (STACK_FILE, HCL_STACK_FILE)
    )


def _use_hcl_stack(hcl_dir: Path, workspace: Path) -> str:
    """Put the HCL stack's files in place of the JSON stack's in `workspace`; its cdk.tf text."""
    (workspace / STACK_FILE).unlink()
    shutil.rmtree(workspace / "assets", ignore_errors=True)
    for path in hcl_dir.iterdir():
        if path.is_dir():
            shutil.copytree(path, workspace / path.name)
        else:
            shutil.copy2(path, workspace / path.name)
    return (workspace / HCL_STACK_FILE).read_text(encoding="utf-8")


def hcl_meta_argument(text: str, line: int) -> str | None:
    """The meta-argument holding `line` (1-based) of an HCL stack, and its block's address:
    `aws_x.y (depends_on)`; None when the line holds no quoted meta-argument reference.
    """
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    kind = None
    if re.match(r'\s*provider\s*=\s*"[\w.-]+"\s*$', lines[line - 1]):
        kind = "provider"
    elif re.match(r'\s*"[\w.-]+",?\s*$', lines[line - 1]):
        for above in reversed(lines[: line - 1]):
            opened = re.match(r"\s*(\w+)\s*=\s*\[\s*$", above)
            if opened or not re.match(r'\s*"[\w.-]+",?\s*$', above):
                kind = opened.group(1) if opened else None
                break
    if kind not in QUOTED_META_ARGUMENTS:
        return None
    for above in reversed(lines[:line]):
        block = re.match(r'(resource|data) "([\w-]+)" "([\w-]+)"', above)
        if block:
            prefix = "data." if block.group(1) == "data" else ""
            return f"{prefix}{block.group(2)}.{block.group(3)} ({kind})"
    return None


def planned_values(shown: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Module name -> {stack-local address: {"actions", "values"}} of `terraform show -json`."""
    found: dict[str, dict[str, Any]] = {}
    for change in shown.get("resource_changes", []):
        address = str(change["address"])
        name = _module_of(address)
        local = address[len(f"module.{name}.") :]
        found.setdefault(name, {})[local] = {
            "actions": change["change"]["actions"],
            "values": change["change"].get("after"),
            "unknown": change["change"].get("after_unknown"),
        }
    return found


def _root_configuration(modules: Mapping[str, StackModule]) -> str:
    """The root module: each stack as a module, and each stack output as a root output.

    Terraform checks some things only in root outputs (a sensitive value in an
    output not marked sensitive, an ephemeral output): the re-exports keep them.
    """
    calls = {name: {"source": f"./{name}"} for name in modules}
    outputs: dict[str, dict[str, Any]] = {}
    for name, module in modules.items():
        for root_output, output in module.outputs.items():
            if root_output in outputs:
                raise TerraformError(f"two stacks' outputs both map to root output {root_output}")
            block = module.output_blocks[output]
            kept = {k: v for k, v in block.items() if k in ("sensitive", "ephemeral")}
            outputs[root_output] = {"value": f"${{module.{name}.{output}}}", **kept}
    document: dict[str, Any] = {"module": calls}
    if outputs:
        document["output"] = outputs
    # Indented like cdktf's JSON, so `address_at_line` can read it.
    return json.dumps(document, indent=2) + "\n"


def _module_name(label: str, taken: Collection[str]) -> str:
    """A module name (and folder name) for a stack label, unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9_-]", "__", label)
    if not re.match(r"[A-Za-z_]", base):
        base = f"stack_{base}"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    return name


def _module_of(address: str) -> str:
    """`x` of `module.x.<rest>` (the stack a resource address belongs to)."""
    match = re.match(r"module\.([^.\[]+)", address)
    return match.group(1) if match else ""


def _fail_all(verdicts: Mapping[str, StackVerdict], failure: str) -> None:
    for verdict in verdicts.values():
        verdict.failure = failure


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fingerprint(stack_dir: Path) -> str:
    """A digest of every file in a stack folder (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in stack_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(stack_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shared(verdict: StackVerdict, label: str) -> StackVerdict:
    return dataclasses.replace(
        verdict, label=label, same_as=verdict.label, diagnostics=list(verdict.diagnostics)
    )


def _tail(result: Result) -> str:
    """Terraform's first error and the lines after it (else its last lines), on one line."""
    text = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    text = [line for line in text if line]
    first = next((i for i, line in enumerate(text) if line.startswith("Error:")), None)
    shown = text[first : first + 4] if first is not None else text[-4:]
    return " | ".join(shown)
