"""Asks the IAM evaluator (tests/iam/simulate.mjs) about requests, in one node process per batch."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.iam.render import ACCOUNT

SCRIPT = Path(__file__).resolve().parent / "simulate.mjs"
PROJECT_ROOT = SCRIPT.parent.parent.parent


@dataclass(frozen=True)
class Request:
    """One API call: `action` on `resource` by `principal`, with its request context."""

    action: str
    resource: str
    context: dict[str, str | list[str]] = field(default_factory=dict)
    principal: str = f"arn:aws:iam::{ACCOUNT}:role/epoch-register-deploy"
    resource_policy: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    result: str  # Allowed, ExplicitlyDenied, ImplicitlyDenied (or Error)
    detail: dict[str, Any]

    @property
    def denied(self) -> bool:
        return self.result in ("ExplicitlyDenied", "ImplicitlyDenied")


def evaluate(
    requests: list[Request],
    identity_policies: dict[str, dict[str, Any]],
    boundary: dict[str, Any] | None = None,
) -> list[Answer]:
    node = shutil.which("node")
    assert node, "node is not on PATH (npm ci installs the evaluator)"
    simulations = []
    for r in requests:
        simulation: dict[str, Any] = {
            "request": {
                "action": r.action,
                "principal": r.principal,
                "resource": {"accountId": ACCOUNT, "resource": r.resource},
                "contextVariables": r.context,
            },
            "identityPolicies": [
                {"name": name, "policy": policy} for name, policy in identity_policies.items()
            ],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if r.resource_policy is not None:
            simulation["resourcePolicy"] = r.resource_policy
        if boundary is not None:
            simulation["permissionBoundaryPolicies"] = [{"name": "boundary", "policy": boundary}]
        simulations.append(simulation)
    run = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(simulations),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answers = [Answer(a["result"], a) for a in json.loads(run.stdout)]
    errors = [(r, a.detail) for r, a in zip(requests, answers, strict=True) if a.result == "Error"]
    assert not errors, f"the evaluator refused requests: {errors}"
    return answers
