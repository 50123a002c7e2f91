"""AWS commercial regions and the services each one has endpoints for, from the
endpoint data botocore ships (`botocore/data/endpoints.json`, partition `aws`): no
network, and as current as the installed botocore (`pipenv update boto3` refreshes it).

What the data cannot say: whether a feature of a service exists in a region
(Lambda provisioned concurrency, DynamoDB global-table replicas, a WAF managed rule
group, multi-Region KMS keys), and whether an opt-in region is enabled in the account.
"""

from __future__ import annotations

import difflib
import functools
import json
from importlib import resources
from typing import Any

import botocore

PARTITION = "aws"
# Endpoint prefixes (botocore's service keys) of what every region's frontend holds.
SERVICES_IN_EVERY_REGION: dict[str, str] = {
    "acm": "ACM",
    "apigateway": "API Gateway",
    "dynamodb": "DynamoDB",
    "kms": "KMS",
    "lambda": "Lambda",
    "logs": "CloudWatch Logs",
    "monitoring": "CloudWatch",
    "sns": "SNS",
    "wafv2": "WAFv2",
    "xray": "X-Ray",
}
# The table's autoscaling (table.billing_mode = "PROVISIONED") in every replica region.
AUTOSCALING_SERVICE: dict[str, str] = {"application-autoscaling": "Application Auto Scaling"}
SOURCE = f"botocore {botocore.__version__}'s endpoint data"


@functools.cache
def _partition() -> dict[str, Any]:
    text = (resources.files("botocore") / "data" / "endpoints.json").read_text(encoding="utf-8")
    partitions: list[dict[str, Any]] = json.loads(text)["partitions"]
    return next(p for p in partitions if p["partition"] == PARTITION)


@functools.cache
def commercial_regions() -> tuple[str, ...]:
    """Every region of the commercial partition, sorted."""
    return tuple(sorted(_partition()["regions"]))


def nearest_regions(name: str) -> list[str]:
    """Up to three region names spelled like `name`."""
    return difflib.get_close_matches(name, commercial_regions(), n=3, cutoff=0.75)


def unknown_region_problem(name: str) -> str | None:
    """What is wrong with `name` as a commercial region (None if nothing)."""
    if name in commercial_regions():
        return None
    near = nearest_regions(name)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return f"{name} is not an AWS commercial region in {SOURCE}{hint}"


def missing_services(region: str, services: dict[str, str]) -> list[str]:
    """The services (as 'Name (key)') the data lists no endpoint for in `region`."""
    known = _partition()["services"]
    return [
        f"{label} ({key})"
        for key, label in services.items()
        if region not in known.get(key, {}).get("endpoints", {})
    ]
