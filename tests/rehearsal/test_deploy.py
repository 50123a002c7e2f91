"""The rehearsal's own decisions: the no-changes check, the teardown override, its variants."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from epoch_settings.loader import load_settings
from rehearsal.__main__ import VARIANTS
from rehearsal.deploy import (
    StepError,
    changed_addresses,
    check_no_changes,
    teardown_override,
    unprotect_override,
)
from rehearsal.terraform import Result
from tests.entry_points import missing_package_line, run_entry_point, unimportable

ROOT = Path(__file__).resolve().parents[2]
NO_CHANGES = "No changes. Your infrastructure matches the configuration."


def result(code: int, stdout: str = "") -> Result:
    return Result(args=("plan",), returncode=code, stdout=stdout, stderr="", seconds=0.1)


def never_shown() -> Any:
    raise AssertionError("the saved plan is read only when there are changes")


def test_exit_zero_gives_the_no_changes_line() -> None:
    assert (
        check_no_changes(result(0, f"refreshing...\n\n{NO_CHANGES}\n"), never_shown) == NO_CHANGES
    )


def test_exit_two_is_a_perpetual_diff_naming_every_address() -> None:
    plan = {
        "resource_changes": [
            {"address": "aws_dynamodb_table.t", "change": {"actions": ["update"]}},
            {"address": "aws_kms_key.k", "change": {"actions": ["no-op"]}},
            {"address": "aws_lambda_alias.a", "change": {"actions": ["delete", "create"]}},
            {"address": "data.aws_iam_policy_document.p", "change": {"actions": ["read"]}},
        ]
    }
    with pytest.raises(StepError) as failed:
        check_no_changes(result(2, "Plan: 1 to add, 1 to change"), lambda: plan)
    message = str(failed.value)
    assert "perpetual diff" in message
    assert "aws_dynamodb_table.t (update)" in message
    assert "aws_lambda_alias.a (delete/create)" in message
    assert "aws_kms_key.k" not in message
    assert "policy_document" not in message


def test_exit_two_with_only_output_changes_still_fails() -> None:
    with pytest.raises(StepError, match="outputs only"):
        check_no_changes(result(2), lambda: {"resource_changes": []})


def test_plan_error_and_silent_success_fail() -> None:
    with pytest.raises(StepError, match="exit 1"):
        check_no_changes(result(1, "Error: boom"), never_shown)
    with pytest.raises(StepError, match=r"no 'No changes\.' line"):
        check_no_changes(result(0, "something else"), never_shown)


def test_changed_addresses_ignores_reads_and_no_ops() -> None:
    assert (
        changed_addresses(
            {"resource_changes": [{"address": "a.b", "change": {"actions": ["read"]}}]}
        )
        == []
    )


def test_teardown_override_lifts_prevent_destroy_and_lets_the_bucket_go() -> None:
    stack = {
        "resource": {
            "aws_s3_bucket": {"state": {"bucket": "b", "lifecycle": {"prevent_destroy": True}}},
            "aws_kms_key": {"key": {"lifecycle": {"prevent_destroy": True}}},
            "aws_dynamodb_table": {"other": {"name": "t"}},
        }
    }
    override, lifted = teardown_override(stack)
    assert lifted == ["aws_s3_bucket.state", "aws_kms_key.key"]
    assert override == {
        "resource": {
            "aws_s3_bucket": {
                "state": {"lifecycle": {"prevent_destroy": False}, "force_destroy": True}
            },
            "aws_kms_key": {"key": {"lifecycle": {"prevent_destroy": False}}},
        }
    }


def test_no_override_for_a_stack_without_prevent_destroy() -> None:
    assert teardown_override({"resource": {"aws_sns_topic": {"t": {"name": "x"}}}}) == (
        {"resource": {}},
        [],
    )


def _flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict) and key != "tags" and key != "weights":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_default_variant_is_settings_toml_with_deletion_protection_off() -> None:
    product = _flatten(tomllib.loads((ROOT / "settings.toml").read_text()))
    rehearsed = _flatten(tomllib.loads(VARIANTS["default"].read_text()))
    differences = {
        k for k in product.keys() | rehearsed.keys() if product.get(k) != rehearsed.get(k)
    }
    assert differences == {"table.deletion_protection_enabled"}
    assert rehearsed["table.deletion_protection_enabled"] is False


def test_second_variant_has_three_regions_weighted_records_and_on_demand_billing() -> None:
    settings = load_settings(VARIANTS["three-regions-weighted-on-demand"])
    assert len(settings.regions) == 3
    assert settings.routing.mode == "weighted-records"
    assert settings.table.billing_mode == "PAY_PER_REQUEST"
    assert settings.table.deletion_protection_enabled is False
    # The optional limits the default variant leaves off: TTL and reserved concurrency.
    assert settings.table.retention_days > 0
    assert settings.functions.reserved_concurrency > 0
    # The read-back asserts each client's usage plan and keys in every region.
    assert settings.api.auth == "api_key"
    assert settings.api.api_key.clients


def test_unprotect_override_names_only_protected_resources() -> None:
    stack = {
        "resource": {
            "aws_dynamodb_table": {
                "lock": {"name": "l", "deletion_protection_enabled": True},
                "open": {"name": "o", "deletion_protection_enabled": False},
            }
        }
    }
    override, addresses = unprotect_override(stack)
    assert addresses == ["aws_dynamodb_table.lock"]
    assert override == {
        "resource": {"aws_dynamodb_table": {"lock": {"deletion_protection_enabled": False}}}
    }


@pytest.mark.parametrize(
    "missing",
    [
        # Only the runtime packages installed (`pipenv sync` without --dev): no emulator.
        "moto",
        # Outside the project's environment altogether.
        "boto3",
    ],
)
def test_a_missing_python_package_is_one_line_that_says_how_to_install(
    tmp_path: Path, missing: str
) -> None:
    result = run_entry_point(
        "rehearsal", "--variant", "default", cwd=tmp_path, prelude=unimportable(missing), timeout=60
    )
    line = missing_package_line(result, missing)
    assert line.endswith(
        "run `pipenv sync --dev` in the project folder, then `pipenv run rehearse`"
    )
    assert list(tmp_path.iterdir()) == []
