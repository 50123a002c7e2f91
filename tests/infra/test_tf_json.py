"""json_document: JSON text that Terraform reads back as exactly that text."""

from __future__ import annotations

import json

from epoch_blocks.tf_json import json_document


def test_literal_template_sequences_are_escaped_and_tokens_kept() -> None:
    value = {"a": 'say "${hi}" and %{ if }', "ref": "${TfToken[TOKEN.7]}"}
    encoded = json_document(value)
    assert "$${hi}" in encoded
    assert "%%{ if }" in encoded
    assert '"${TfToken[TOKEN.7]}"' in encoded
    # Undoing Terraform's escapes gives back the original JSON.
    assert json.loads(encoded.replace("$${", "${").replace("%%{", "%{")) == value


def test_quotes_inside_strings_stay_json_escaped() -> None:
    template = '{"error":{"code":"bad_request"}}'
    assert json.loads(json_document({"t": template}))["t"] == template
