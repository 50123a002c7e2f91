"""The AWS calls of a rollout, per region: the alias (with the rollout's record in its
description), provisioned concurrency status, alarm states."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

# The alias description records what the rollout did, so that a rerun, --status and
# --rollback read the version a region served before from AWS itself (a CI job that
# is cancelled leaves no local file behind).
RECORD = re.compile(r"^epoch-rollout previous=(\w+) target=(\w+) (baking|baked|rolled-back)$")
BAKING, BAKED, ROLLED_BACK = "baking", "baked", "rolled-back"
_CONFIG = Config(
    connect_timeout=5, read_timeout=20, retries={"max_attempts": 5, "mode": "standard"}
)


class AwsError(Exception):
    """An AWS call failed; the message is one line naming the region and the call."""


@dataclass(frozen=True)
class Record:
    previous: str
    target: str
    status: str

    def text(self) -> str:
        return f"epoch-rollout previous={self.previous} target={self.target} {self.status}"


@dataclass(frozen=True)
class AliasState:
    primary: str  # FunctionVersion
    weights: dict[str, float] = field(default_factory=dict)  # AdditionalVersionWeights
    record: Record | None = None

    def share_of(self, version: str) -> float:
        """Percent of the alias's traffic on `version`."""
        if self.primary == version:
            return 100.0 - 100.0 * sum(self.weights.values())
        return 100.0 * self.weights.get(version, 0.0)

    def describe(self) -> str:
        if not self.weights:
            return self.primary
        parts = [f"{self.primary} ({self.share_of(self.primary):.0f} %)"]
        parts += [f"{v} ({w * 100:.0f} %)" for v, w in sorted(self.weights.items())]
        return " + ".join(parts)


def credentials_problem() -> str | None:
    """One line if boto3 finds no AWS credentials, else None."""
    try:
        found = boto3.Session().get_credentials()
    except BotoCoreError as exc:
        return f"cannot read AWS credentials: {exc}"
    if found is None:
        return (
            "no AWS credentials found: sign in (aws sso login, or set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again"
        )
    return None


class RegionAws:
    """One region's Lambda and CloudWatch clients."""

    def __init__(self, region: str) -> None:
        self.region = region
        session = boto3.Session()
        self._lambda: Any = session.client("lambda", region_name=region, config=_CONFIG)
        self._cloudwatch: Any = session.client("cloudwatch", region_name=region, config=_CONFIG)

    def _fail(self, call: str, exc: Exception) -> AwsError:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            detail = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
        elif isinstance(exc, NoCredentialsError):
            detail = "no AWS credentials found"
        else:
            detail = str(exc)
        return AwsError(f"{self.region}: {call} failed ({detail})")

    def alias(self, function: str, alias: str) -> AliasState:
        try:
            answer = self._lambda.get_alias(FunctionName=function, Name=alias)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"GetAlias {function}:{alias}", exc) from None
        routing = answer.get("RoutingConfig") or {}
        weights = {
            str(v): float(w) for v, w in (routing.get("AdditionalVersionWeights") or {}).items()
        }
        match = RECORD.fullmatch(answer.get("Description") or "")
        record = Record(*match.groups()) if match else None
        return AliasState(primary=str(answer["FunctionVersion"]), weights=weights, record=record)

    def set_alias(
        self, function: str, alias: str, *, primary: str, weights: dict[str, float], record: Record
    ) -> None:
        try:
            self._lambda.update_alias(
                FunctionName=function,
                Name=alias,
                FunctionVersion=primary,
                Description=record.text(),
                RoutingConfig={"AdditionalVersionWeights": weights},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"UpdateAlias {function}:{alias}", exc) from None

    def warm_status(self, function: str, alias: str) -> tuple[str, str] | None:
        """(status, reason) of the alias's provisioned concurrency, or None without any."""
        try:
            answer = self._lambda.get_provisioned_concurrency_config(
                FunctionName=function, Qualifier=alias
            )
        except ClientError as exc:
            if (
                exc.response.get("Error", {}).get("Code")
                == "ProvisionedConcurrencyConfigNotFoundException"
            ):
                return None
            raise self._fail(f"GetProvisionedConcurrencyConfig {function}:{alias}", exc) from None
        except BotoCoreError as exc:
            raise self._fail(f"GetProvisionedConcurrencyConfig {function}:{alias}", exc) from None
        return str(answer.get("Status", "")), str(answer.get("StatusReason", ""))

    def alarm_states(self, names: tuple[str, ...]) -> dict[str, str]:
        """StateValue (OK, ALARM, INSUFFICIENT_DATA) of each named alarm; missing ones left out."""
        states: dict[str, str] = {}
        try:
            for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
                pages = self._cloudwatch.get_paginator("describe_alarms").paginate(
                    AlarmNames=list(names[start : start + 100]), AlarmTypes=["MetricAlarm"]
                )
                for page in pages:
                    for alarm in page.get("MetricAlarms", []):
                        states[alarm["AlarmName"]] = alarm["StateValue"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("DescribeAlarms", exc) from None
        return states
