"""Small readers over synthesized Terraform JSON shared by the infra tests."""

from __future__ import annotations

import re
from typing import Any

from tests.infra.conftest import Synthesized

ROOT = "epoch-register"


def resources(app: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    return app.resources(ROOT, resource_type)


def only(app: Synthesized, resource_type: str) -> dict[str, Any]:
    (value,) = resources(app, resource_type).values()
    return value


def region_of(resource: dict[str, Any]) -> str:
    """The region a resource lands in, from its aliased provider (aws.us_east_1)."""
    provider = resource["provider"]
    assert provider.startswith("aws."), provider
    return str(provider.removeprefix("aws.").replace("_", "-"))


def reference(resource_type: str, address: str, attribute: str) -> str:
    return f"${{{resource_type}.{address}.{attribute}}}"


def references(text: str, resource_type: str, attribute: str) -> set[str]:
    """Addresses of `resource_type` whose `attribute` is referenced in `text`."""
    pattern = rf"{re.escape(resource_type)}\.([A-Za-z0-9_]+)\.{re.escape(attribute)}\b"
    return set(re.findall(pattern, text))


def is_key_policy(name: str) -> bool:
    """KMS key-policy documents are named `*_key_policy` (cdktf may add a hash suffix)."""
    return re.search(r"_key_policy(_[0-9A-F]{8})?$", name) is not None
