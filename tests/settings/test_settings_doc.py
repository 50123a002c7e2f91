"""docs/settings.md's table against the schema: every key, its default and its bounds."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Gt, Le, MaxLen, MinLen
from pydantic.fields import FieldInfo

from epoch_settings.model import LOG_RETENTION_DAYS, Settings, _Section
from handlers import contract
from tests.conftest import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "settings.md"
# Ranges in the table are written with an en dash.
DASH = "\u2013"
# Lower bounds a cross-field check enforces above the field's own.
CHECKED_MINIMUMS = {"lambda.timeout_seconds": contract.LAMBDA_TIMEOUT_MIN_SECONDS}


def leaf_fields(model: type[_Section] = Settings, prefix: str = "") -> dict[str, FieldInfo]:
    fields: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            fields |= leaf_fields(annotation, key + ".")
        else:
            fields[key] = field
    return fields


def documented_rows() -> dict[str, tuple[str, str]]:
    """key -> (default cell, allowed cell) of the table."""
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.fullmatch(r"\| `([a-z_.]+)` \| (.*?) \| (.*?) \| .* \|", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml(k)} = {toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def expected_default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "none" if value is None else f"`{toml(value)}`"


def bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for kind, attribute in (
            (Ge, "ge"),
            (Gt, "gt"),
            (Le, "le"),
            (MinLen, "min_length"),
            (MaxLen, "max_length"),
        ):
            if isinstance(item, kind):
                found[kind.__name__] = getattr(item, attribute)
    return found


def expected_fragments(key: str, field: FieldInfo) -> list[str]:
    """What the 'allowed' cell must say for this field."""
    found = bounds(list(field.metadata))
    annotation = field.annotation
    if typing.get_origin(annotation) is dict:
        value_type = typing.get_args(annotation)[1]
        for extra in typing.get_args(value_type)[1:]:
            if isinstance(extra, FieldInfo):
                found |= bounds(list(extra.metadata))
    fragments = []
    if key in CHECKED_MINIMUMS:
        found["Ge"] = max(found.get("Ge", CHECKED_MINIMUMS[key]), CHECKED_MINIMUMS[key])
    if "Ge" in found and "Le" in found:
        fragments.append(f"{found['Ge']}{DASH}{found['Le']}")
    if "Gt" in found and "Le" in found:
        fragments.append(f"more than {found['Gt']}, at most {found['Le']}")
    if "MinLen" in found and "MaxLen" in found:
        fragments.append(f"{found['MinLen']}{DASH}{found['MaxLen']} entries")
    if typing.get_origin(annotation) is typing.Literal:
        fragments += [f"`{option}`" for option in typing.get_args(annotation)]
    if annotation is bool:
        fragments += ["`true`", "`false`"]
    if key == "log_retention_days":
        fragments.append(", ".join(map(str, LOG_RETENTION_DAYS)))
    return fragments


FIELDS = leaf_fields()


def test_every_documented_key_is_a_setting() -> None:
    assert set(documented_rows()) == set(FIELDS)


@pytest.mark.parametrize("key", sorted(FIELDS))
def test_default_and_bounds_match_the_schema(key: str) -> None:
    default, allowed = documented_rows()[key]
    field = FIELDS[key]
    assert default == expected_default(field)
    for fragment in expected_fragments(key, field):
        assert fragment in allowed, f"{key}: {fragment!r} missing from {allowed!r}"


def test_the_check_covers_numeric_bounds() -> None:
    # A guard on the guard: the fields the issue named are checked for bounds.
    for key, fragment in (
        ("regions", f"2{DASH}10 entries"),
        ("routing.health_check_failure_threshold", f"1{DASH}10"),
        ("lambda.memory_mb", f"128{DASH}10240"),
        ("routing.weights", f"0{DASH}255"),
        ("lambda.timeout_seconds", f"9{DASH}28"),
    ):
        assert fragment in expected_fragments(key, FIELDS[key])


def test_the_example_output_is_what_synth_prints(tmp_path: Path) -> None:
    block = DOC.read_text().split("```console\n", 1)[1].split("```", 1)[0]
    file_part, _, output = block.partition("$ pipenv run synth --settings bad.toml\n")
    (tmp_path / "bad.toml").write_text(file_part.removeprefix("$ cat bad.toml\n"))
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py"), "--settings", "bad.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == output
