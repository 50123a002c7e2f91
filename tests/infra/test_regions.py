"""Regions are data: a third region adds exactly its own parts and changes nothing else."""

from __future__ import annotations

from typing import Any

from epoch_constructs.stack import STACK_NAME as ROOT
from tests.infra.conftest import Synthesized

NEW_REGION = "eu-west-1"


def addresses(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource and data source, keyed by Terraform address."""
    found: dict[str, dict[str, Any]] = {}
    for block in ("resource", "data"):
        for kind, items in stack.get(block, {}).items():
            for name, body in items.items():
                found[f"{block}.{kind}.{name}"] = body
    return found


def test_third_region_adds_only_its_own_resources(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    two = addresses(synthesized_apps["default"].stack(ROOT))
    three = addresses(synthesized_apps["three_regions"].stack(ROOT))
    assert set(two) <= set(three), "a third region must not remove or rename anything"
    added = {address: three[address] for address in set(three) - set(two)}
    kinds = {address.split(".")[1] for address in added}
    # Its replica, key replica, frontend and health check (+ alarm).
    for expected in (
        "aws_dynamodb_table_replica",
        "aws_kms_replica_key",
        "aws_lambda_function",
        "aws_api_gateway_rest_api",
        "aws_route53_health_check",
        "aws_acm_certificate",
        "aws_wafv2_web_acl",
    ):
        assert expected in kinds, expected
    for address, body in added.items():
        provider = body.get("provider", "")
        # Everything new lives in the new region, except the health check and its
        # alarm (Route 53 is global; its metrics are in us-east-1), the other
        # regions' alarms on replication to the new region, and policy documents.
        if "health" in address or "replication" in address:
            continue
        if address.startswith("data.aws_iam_policy_document"):
            continue
        assert provider == "aws.eu_west_1", address
    assert not any("validation_record" in a for a in added), "ACM validation record is shared"


def test_existing_regions_are_unchanged_except_cross_region_lists(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    two = addresses(synthesized_apps["default"].stack(ROOT))
    three = addresses(synthesized_apps["three_regions"].stack(ROOT))
    changed = sorted(a for a in two if two[a] != three[a])
    # Only what lists every region may change: IAM grants (ARNs per region),
    # the traffic policy (one endpoint per region) and replication-latency views.
    allowed = ("aws_iam_policy_document", "traffic_policy", "dashboard", "replication")
    assert all(any(word in a for word in allowed) for a in changed), changed


def test_one_provider_per_region_and_us_east_1_always_present(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        regions = [p["region"] for p in app.stack(ROOT)["provider"]["aws"]]
        expected = list(app.settings.regions)
        if "us-east-1" not in expected:
            expected.append("us-east-1")
        assert regions == expected, app.name
