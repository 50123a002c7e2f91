"""The plan gate plans each distinct WAF web ACL once, not once per region and variant.

A web ACL is most of the gate's CPU: about 6 CPU seconds each on this machine,
against milliseconds for most resources (docs/performance.md). Its cost is the
ACL's schema (rule statements nested three deep), which Terraform core and the
provider walk for every ACL they plan, whatever its rules say. The stacks of
every region and of most settings variants carry the same ACL, differing only in
the region it is written for (its provider and the region in its description).
Planning that configuration again under another region's provider tells the gate
nothing new: the provider validates and plans the same arguments.

So, on the gate's scratch copy of a stack (never the synthesized output), a web
ACL whose configuration equals one already planned, once every region name of its
stack is replaced by one placeholder, is left out together with the two
resources that only attach it (its stage association and its logging
configuration). The stack's verdict names every ACL left out and the stack whose
ACL it repeats; tests/infra/test_terraform_plan.py checks each such claim
against the synthesized files. An ACL that anything else refers to is kept.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

WEB_ACL = "aws_wafv2_web_acl"
# The resources that only attach an ACL: they go with it.
ATTACHMENTS = ("aws_wafv2_web_acl_association", "aws_wafv2_web_acl_logging_configuration")
REGION_PLACEHOLDER = "<region>"


@dataclass(frozen=True)
class Repeat:
    """A web ACL left out of the plan: `address` repeats the ACL planned at `planned`."""

    address: str  # aws_wafv2_web_acl.<name>, stack-local
    planned: str  # "<stack label>: aws_wafv2_web_acl.<name>"


def stack_regions(stack: dict[str, Any]) -> list[str]:
    """Every region a provider block of the stack names, longest first."""
    blocks = stack.get("provider", {}).get("aws", [])
    regions = {b["region"] for b in blocks if isinstance(b, dict) and "region" in b}
    return sorted(regions, key=len, reverse=True)


def acl_key(config: dict[str, Any], regions: Iterable[str]) -> str:
    """The ACL's configuration but for its region: no provider, no cdktf metadata."""
    kept = {k: v for k, v in config.items() if k not in ("provider", "//")}
    text = json.dumps(kept, sort_keys=True)
    for region in regions:
        text = text.replace(region, REGION_PLACEHOLDER)
    return text


def _refers_to(value: Any, address: str) -> bool:
    return re.search(rf"\b{re.escape(address)}\b", json.dumps(value)) is not None


def leave_out_repeats(
    stack: dict[str, Any], label: str, planned: MutableMapping[str, str], *, keep_all: bool = False
) -> list[Repeat]:
    """Drop the stack's web ACLs whose key is in `planned` (key -> where it is planned).

    The keys of the ACLs kept are added to `planned`; with `keep_all` every ACL is
    kept (a stack whose plan is compared with its HCL twin's, resource by resource).
    `stack` is changed in place.
    """
    resources = stack.get("resource", {})
    acls = resources.get(WEB_ACL, {})
    regions = stack_regions(stack)
    repeats: list[Repeat] = []
    for name in list(acls):
        key = acl_key(acls[name], regions)
        address = f"{WEB_ACL}.{name}"
        if keep_all or key not in planned:
            planned.setdefault(key, f"{label}: {address}")
            continue
        attachments = {
            (kind, other)
            for kind in ATTACHMENTS
            for other, config in resources.get(kind, {}).items()
            if _refers_to(config, address)
        }
        rest = copy.deepcopy(stack)
        del rest["resource"][WEB_ACL][name]
        for kind, other in attachments:
            del rest["resource"][kind][other]
        if _refers_to(rest, address):
            continue  # something else needs it: plan it again
        for kind, other in attachments:
            del resources[kind][other]
        del acls[name]
        repeats.append(Repeat(address=address, planned=planned[key]))
    for kind in (WEB_ACL, *ATTACHMENTS):
        if kind in resources and not resources[kind]:
            del resources[kind]
    return repeats
