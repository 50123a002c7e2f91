"""json_document: JSON text that Terraform reads back as exactly that text.

Terraform itself (`terraform console`, no configuration, no provider) judges
the HCL string literals and the `format()` calls: what it computes must be
the JSON text byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from epoch_blocks.tf_json import format_arguments, hcl_string, json_document
from rehearsal.terraform import TerraformError, find_terraform, terraform_env
from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, document_text, format_call
from tests.infra.test_terraform_plan import skip_if_opted_out

NASTY = 'say "${hi}" and %{ if } 100% \\ back\\slash \\"q\\" \n\ttab \x01 é ${TfToken'


def evaluate(expressions: list[str], folder: Path) -> list[str]:
    """Each expression's string value, as `terraform console` computes it."""
    skip_if_opted_out()
    try:
        terraform = find_terraform()
    except TerraformError as error:
        pytest.fail(str(error), pytrace=False)
    result = subprocess.run(
        [str(terraform.path), "console"],
        # Piped, the console prints only the last result: one expression holds them all.
        input=f"base64encode(jsonencode([{', '.join(expressions)}]))\n",
        cwd=folder,
        env=terraform_env(None, extra={"TF_CLI_CONFIG_FILE": "/dev/null"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.strip()]
    values: list[str] = json.loads(base64.b64decode(json.loads(line)))
    assert len(values) == len(expressions)
    return values


def test_without_references_literal_template_sequences_are_escaped() -> None:
    value = {"a": 'say "${hi}" and %{ if }'}
    encoded = json_document(value)
    assert "$${hi}" in encoded
    assert "%%{ if }" in encoded
    # Undoing Terraform's escapes gives back the original JSON.
    assert json.loads(encoded.replace("$${", "${").replace("%%{", "%{")) == value


def test_quotes_inside_strings_stay_json_escaped() -> None:
    template = '{"error":{"code":"bad_request"}}'
    assert json.loads(json_document({"t": template}))["t"] == template


def test_references_become_numbered_format_arguments() -> None:
    encoded = json.dumps(
        {"a": "${TfToken[TOKEN.7]}", "b": "x${TfToken[TOKEN.8]}y 5%", "c": "${TfToken[TOKEN.7]}"}
    )
    spec, arguments = format_arguments(encoded)
    assert arguments == ["${TfToken[TOKEN.7]}", "${TfToken[TOKEN.8]}"]
    assert spec == '{"a": "%[1]s", "b": "x%[2]sy 5%%", "c": "%[1]s"}'


def test_terraform_reads_the_string_literal_and_the_format_call_exactly(tmp_path: Path) -> None:
    value = {"text": NASTY, "ref": "${TfToken[TOKEN.7]}", "mixed": "<${TfToken[TOKEN.8]}>%"}
    spec, arguments = format_arguments(json.dumps(value, separators=(",", ":")))
    assert len(arguments) == 2
    literal, formatted = evaluate(
        [hcl_string(NASTY), f'format({hcl_string(spec)}, "A7", "B8")'], tmp_path
    )
    assert literal == NASTY
    expected = {**value, "ref": "A7", "mixed": "<B8>%"}
    assert formatted == json.dumps(expected, separators=(",", ":"))


def test_the_synthesized_documents_are_the_json_text_terraform_computes(
    default_app: Synthesized, tmp_path: Path
) -> None:
    stack = default_app.stack(ROOT)
    found = list(stack.get("locals", {}).values())
    for resources in stack["resource"].values():
        found += [str(r.get("body", "")) for r in resources.values()]
    calls = [text for text in found if text.startswith("${format(")]
    # The traffic policy and one API body per region.
    assert len(calls) == 1 + len(default_app.settings.regions)
    expressions, expected = [], []
    for call in calls:
        literal, references = format_call(call)
        # References become string literals naming them: known values for the console.
        names = ", ".join(json.dumps(f"<{reference}>") for reference in references)
        expressions.append(f"format({literal}, {names})")
        template = document_text(call)
        expected.append(re.sub(r"\$\{([\w.]+)\}", r"<\1>", template))
        json.loads(template)
    assert evaluate(expressions, tmp_path) == expected
