"""The plan gate: `terraform init`, `validate` and `plan` of synthesized stacks, offline.

Each stack is copied into a scratch folder with a local backend, the provider
pin moved to the mirrored provider (when there is a mirror), the provider's
offline settings, fake credentials and a loopback STS (see `offline_sts`).
What the real AWS provider says about the stack is reported per stack; a
warning or error passes only if `ACCEPTED` names it with a reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.offline_sts import OfflineSts
from rehearsal.terraform import (
    OFFLINE_PROVIDER_SETTINGS,
    STACK_FILE,
    Diagnostic,
    ProviderMirror,
    Result,
    TerraformCli,
    TerraformError,
    find_provider_mirror,
    find_terraform,
    plan_diagnostics,
    prepare_workspace,
    run,
    scratch_folder,
    terraform_env,
    validate_diagnostics,
    write_cli_config,
)

# Opting out is the only way to pass the test command without Terraform.
SKIP_ENV = "EPOCH_SKIP_TERRAFORM_GATE"
INIT_TIMEOUT = 300.0
VALIDATE_TIMEOUT = 300.0
PLAN_TIMEOUT = 600.0
# Terraform and each provider process use more than one core; two stacks at a time
# keep a 2-core machine busy without thrashing.
DEFAULT_WORKERS = max(2, min(4, (os.cpu_count() or 2) // 2))
PLAN_ARGS = ("plan", "-json", "-refresh=false", "-input=false", "-lock=false", "-no-color")


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


# Every diagnostic the provider raises on our stacks that the gate accepts.
ACCEPTED: tuple[Accepted, ...] = ()

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
    seconds: dict[str, float] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # A step that failed without diagnostics (init, a crash): its last lines.
    failure: str = ""
    planned: dict[str, int] = field(default_factory=dict)
    # Another stack with byte-identical files, whose verdict this one shares.
    same_as: str = ""

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

    def summary(self) -> str:
        if self.same_as:
            return f"{self.label}: identical to {self.same_as}, judged once"
        timings = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in self.seconds.items())
        plan = ", ".join(f"{count} to {action}" for action, count in self.planned.items())
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        warnings = len(self.diagnostics) - errors
        return (
            f"{self.label}: {self.judged_by}; {timings}; plan: {plan or 'none'}; "
            f"{errors} errors, {warnings} warnings ({len(self.accepted())} accepted)"
        )


@dataclass(frozen=True)
class GateReport:
    """The verdicts of every stack and the gate's wall time."""

    terraform: str
    mirror: str
    verdicts: tuple[StackVerdict, ...]
    seconds: float

    def problems(self) -> list[str]:
        return [line for verdict in self.verdicts for line in verdict.problems()]

    def lines(self) -> list[str]:
        head = (
            f"plan gate: {len(self.verdicts)} stacks in {self.seconds:.1f} s wall "
            f"(Terraform {self.terraform}, provider from {self.mirror})"
        )
        accepted = [
            f"  accepted: {v.label}: {v.describe(d)} -- {rule.reason}"
            for v in self.verdicts
            for d, rule in v.accepted()
        ]
        return [head, *(f"  {v.summary()}" for v in self.verdicts), *accepted]


def unavailable_message(error: TerraformError) -> str:
    """The one line the test command prints when the gate cannot run."""
    return f"plan gate: {error}; or set {SKIP_ENV}=1 to skip this gate"


def start_plan_gate(
    stacks: Mapping[str, Path], *, workers: int = DEFAULT_WORKERS, scratch: Path | None = None
) -> Future[GateReport]:
    """Start `run_plan_gate` in the background; the future raises TerraformError if unusable."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-gate")
    future = executor.submit(run_plan_gate, stacks, workers=workers, scratch=scratch)
    executor.shutdown(wait=False)
    return future


def run_plan_gate(
    stacks: Mapping[str, Path], *, workers: int = DEFAULT_WORKERS, scratch: Path | None = None
) -> GateReport:
    """Judge every stack (label -> synthesized stack folder), `workers` stacks at a time.

    Scratch copies go under `scratch` (kept) or a temporary folder (removed).
    """
    started = time.monotonic()
    terraform = find_terraform()
    mirror = find_provider_mirror(terraform.platform)
    root = scratch or scratch_folder("epoch-plan-gate-")
    try:
        root.mkdir(parents=True, exist_ok=True)
        cli_config = write_cli_config(mirror, root) if mirror is not None else None
        with OfflineSts() as sts:
            env = terraform_env(cli_config, extra={"AWS_ENDPOINT_URL_STS": sts.url})
            # Identical stacks (the remote-state stack of most variants) are judged once.
            first: dict[str, str] = {}
            for label in stacks:
                first.setdefault(_fingerprint(stacks[label]), label)
            unique = set(first.values())
            # Largest stacks first, so the last one to start is a short one.
            order = sorted(unique, key=lambda label: -(stacks[label] / STACK_FILE).stat().st_size)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan") as pool:
                futures = {
                    label: pool.submit(
                        judge_stack, label, stacks[label], root, terraform, mirror, env
                    )
                    for label in order
                }
                judged = {label: future.result() for label, future in futures.items()}
            verdicts = tuple(
                judged[label] if label in unique else _shared(judged[original], label)
                for label in stacks
                for original in (first[_fingerprint(stacks[label])],)
            )
    finally:
        if scratch is None:
            shutil.rmtree(root, ignore_errors=True)
    return GateReport(
        terraform=terraform.version_text,
        mirror=str(mirror.root) if mirror is not None else "the registry (no local mirror)",
        verdicts=verdicts,
        seconds=time.monotonic() - started,
    )


def judge_stack(
    label: str,
    stack_dir: Path,
    root: Path,
    terraform: TerraformCli,
    mirror: ProviderMirror | None,
    env: Mapping[str, str],
) -> StackVerdict:
    """init, validate, then (when validation found no error) plan one stack's scratch copy."""
    verdict = StackVerdict(label=label)
    workspace = prepare_workspace(
        stack_dir,
        root / re.sub(r"[^A-Za-z0-9_.-]", "__", label),
        mirror=mirror,
        backend="local",
        provider_settings=OFFLINE_PROVIDER_SETTINGS,
    )
    verdict.judged_by = workspace.judged_by
    verdict.bindings_version = workspace.bindings_version
    verdict.provider_version = workspace.provider_version
    stack_text = (workspace.path / STACK_FILE).read_text(encoding="utf-8")

    def step(name: str, args: Sequence[str], timeout: float) -> Result:
        result = run(terraform, args, cwd=workspace.path, env=env, timeout=timeout)
        verdict.seconds[name] = result.seconds
        return result

    try:
        init = step("init", ("init", "-input=false", "-no-color"), INIT_TIMEOUT)
        if init.returncode != 0:
            verdict.failure = f"terraform init failed: {_tail(init)}"
            return verdict
        validate = step("validate", ("validate", "-json", "-no-color"), VALIDATE_TIMEOUT)
        verdict.diagnostics.extend(validate_diagnostics(validate.stdout, stack_text))
        if any(d.severity == "error" for d in verdict.diagnostics):
            return verdict
        plan = step("plan", PLAN_ARGS, PLAN_TIMEOUT)
        found = plan_diagnostics(plan.stdout, stack_text)
        # A plan repeats validation's warnings; list each once.
        verdict.diagnostics.extend(d for d in found if d not in verdict.diagnostics)
        verdict.planned = _change_summary(plan.stdout)
        if plan.returncode != 0 and not any(d.severity == "error" for d in found):
            verdict.failure = f"terraform plan exited {plan.returncode}: {_tail(plan)}"
    except (TerraformError, ValueError) as error:
        verdict.failure = f"{type(error).__name__}: {error}"
    return verdict


def _fingerprint(stack_dir: Path) -> str:
    """A digest of every file in a stack folder (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in stack_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(stack_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shared(verdict: StackVerdict, label: str) -> StackVerdict:
    return dataclasses.replace(
        verdict,
        label=label,
        same_as=verdict.label,
        diagnostics=list(verdict.diagnostics),
        seconds={},
    )


def _change_summary(stdout: str) -> dict[str, int]:
    for line in stdout.splitlines():
        if '"change_summary"' in line:
            changes = json.loads(line).get("changes", {})
            return {action: int(changes.get(action, 0)) for action in ("add", "change", "remove")}
    return {}


def _tail(result: Result) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(line.strip() for line in text[-6:] if line.strip())
