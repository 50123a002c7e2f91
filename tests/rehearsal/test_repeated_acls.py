"""The plan gate leaves out a web ACL only where it repeats a planned one but for its region."""

from __future__ import annotations

import copy
from typing import Any

from rehearsal.repeated_acls import ATTACHMENTS, WEB_ACL, acl_key, leave_out_repeats


def _acl(region: str, limit: int = 2000) -> dict[str, Any]:
    return {
        "//": {"metadata": {"path": f"app/frontend_{region}/firewall/web_acl"}},
        "provider": f"aws.{region.replace('-', '_')}",
        "name": "app-api",
        "description": f"app API {region}",
        "rule": [{"name": "rate", "statement": {"rate_based_statement": {"limit": limit}}}],
    }


def _stack(*regions: str, limits: dict[str, int] | None = None) -> dict[str, Any]:
    limits = limits or {}
    resource: dict[str, Any] = {WEB_ACL: {}, ATTACHMENTS[0]: {}, ATTACHMENTS[1]: {}}
    for region in regions:
        key = region.replace("-", "_")
        resource[WEB_ACL][f"acl_{key}"] = _acl(region, limits.get(region, 2000))
        acl_arn = f"${{aws_wafv2_web_acl.acl_{key}.arn}}"
        resource[ATTACHMENTS[0]][f"assoc_{key}"] = {
            "resource_arn": f"${{aws_api_gateway_stage.stage_{key}.arn}}",
            "web_acl_arn": acl_arn,
        }
        resource[ATTACHMENTS[1]][f"logging_{key}"] = {"resource_arn": acl_arn}
        resource.setdefault("aws_api_gateway_stage", {})[f"stage_{key}"] = {"stage_name": "v1"}
    return {
        "provider": {"aws": [{"alias": r.replace("-", "_"), "region": r} for r in regions]},
        "resource": resource,
    }


def test_an_acl_equal_but_for_its_region_goes_with_its_attachments() -> None:
    stack = _stack("us-east-1", "us-west-2")
    planned: dict[str, str] = {}
    repeats = leave_out_repeats(stack, "v/root", planned)
    assert [(r.address, r.planned) for r in repeats] == [
        ("aws_wafv2_web_acl.acl_us_west_2", "v/root: aws_wafv2_web_acl.acl_us_east_1")
    ]
    resources = stack["resource"]
    assert list(resources[WEB_ACL]) == ["acl_us_east_1"]
    assert list(resources[ATTACHMENTS[0]]) == ["assoc_us_east_1"]
    assert list(resources[ATTACHMENTS[1]]) == ["logging_us_east_1"]
    assert list(resources["aws_api_gateway_stage"]) == ["stage_us_east_1", "stage_us_west_2"]


def test_a_later_stack_repeats_the_first_ones_acl_and_other_rules_are_planned() -> None:
    planned: dict[str, str] = {}
    leave_out_repeats(_stack("us-east-1"), "a/root", planned)
    other = _stack("eu-west-1", "us-west-2", limits={"us-west-2": 100})
    repeats = leave_out_repeats(other, "b/root", planned)
    assert [r.address for r in repeats] == ["aws_wafv2_web_acl.acl_eu_west_1"]
    assert list(other["resource"][WEB_ACL]) == ["acl_us_west_2"]


def test_keep_all_plans_every_acl_but_registers_them() -> None:
    stack = _stack("us-east-1", "us-west-2")
    before = copy.deepcopy(stack)
    planned: dict[str, str] = {}
    assert leave_out_repeats(stack, "twin", planned, keep_all=True) == []
    assert stack == before
    assert len(planned) == 1
    assert leave_out_repeats(_stack("us-west-2"), "later", planned)[0].planned == (
        "twin: aws_wafv2_web_acl.acl_us_east_1"
    )


def test_an_acl_something_else_refers_to_is_planned_again() -> None:
    stack = _stack("us-east-1", "us-west-2")
    stack["output"] = {"acl": {"value": "${aws_wafv2_web_acl.acl_us_west_2.name}"}}
    assert leave_out_repeats(stack, "v/root", {}) == []
    assert len(stack["resource"][WEB_ACL]) == 2


def test_the_key_ignores_provider_metadata_and_region_only() -> None:
    east, west = _acl("us-east-1"), _acl("us-west-2")
    assert acl_key(east, ["us-east-1"]) == acl_key(west, ["us-west-2"])
    assert acl_key(east, ["us-east-1"]) != acl_key(_acl("us-east-1", 100), ["us-east-1"])
    assert acl_key(east, []) != acl_key(west, [])
