"""Whole-stack snapshots of every synthesized variant (syrupy, committed JSON).

Update after an intended change with `pipenv run test --snapshot-update` and
review the diff of tests/infra/__snapshots__/ like any other code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from epoch_constructs.stack import STACK_NAME as ROOT
from remote_state.stack import STACK_NAME as STATE
from tests.infra.conftest import VARIANTS, Synthesized

# The handler code's hash changes with every handler edit; test_lambda_asset.py
# checks it. Snapshots hold the infrastructure only.
_ASSET = re.compile(r'"(filename|source_code_hash)": "[^"]*"')


def without_code_hash(stack: dict[str, Any]) -> dict[str, Any]:
    text = _ASSET.sub(lambda m: f'"{m.group(1)}": "<handlers zip>"', json.dumps(stack))
    normalized: dict[str, Any] = json.loads(text)
    return normalized


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("stack", [STATE, ROOT])
def test_stack_matches_snapshot(
    synthesized_apps: dict[str, Synthesized],
    json_snapshot: SnapshotAssertion,
    variant: str,
    stack: str,
) -> None:
    assert without_code_hash(synthesized_apps[variant].stack(stack)) == json_snapshot
