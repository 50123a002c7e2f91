"""verify --terraform-dir: the outputs JSON, whatever Terraform prints before it."""

from __future__ import annotations

import pytest

from verify.inputs import json_after_warnings

WARNING = """\
╷
│ Warning: Deprecated Parameter
│
│ The parameter "dynamodb_table" is deprecated. Use parameter "use_lockfile"
│ instead. {"not": "json"}
╵
"""
OUTPUTS = '{\n  "a": {\n    "sensitive": false,\n    "value": "x"\n  }\n}\n'


@pytest.mark.parametrize("before", ["", WARNING, "note\n\n"])
def test_the_outputs_object_is_found_after_any_lines_before_it(before: str) -> None:
    assert json_after_warnings(before + OUTPUTS) == {"a": {"sensitive": False, "value": "x"}}


def test_no_outputs_and_no_json() -> None:
    assert json_after_warnings("\n") == {}
    assert json_after_warnings(WARNING) is None
    assert json_after_warnings("{ broken") is None
