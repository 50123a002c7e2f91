"""X-Ray: sampling rules and their tags, kept per region."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from rehearsal.shims.core import (
    Counts,
    Emulator,
    Forward,
    Gap,
    Reply,
    Request,
    Shim,
    rest_json_reply,
)

# The emulator's default account (the fake credentials' account).
ACCOUNT = "123456789012"


def _ok(document: Mapping[str, Any]) -> Reply:
    return rest_json_reply("200 OK", document)


def _error(message: str) -> Reply:
    return rest_json_reply(
        "400 Bad Request", {"Message": message}, [("x-amzn-ErrorType", "InvalidRequestException")]
    )


class SamplingRules(Shim):
    """Create/Update/DeleteSamplingRule, GetSamplingRules and the tag calls, answered."""

    gap = Gap(
        resource="aws_xray_sampling_rule",
        call="xray Create/Update/DeleteSamplingRule, GetSamplingRules, "
        "ListTagsForResource / TagResource / UntagResource",
        emulator="not implemented (HTTP 404 for the URLs)",
        handling="shim: keeps the rules per region (with their tags) and answers these "
        "calls as X-Ray does",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        # (region, rule name) -> the sampling rule record; rule ARN -> tags
        self._rules: dict[tuple[str, str], dict[str, Any]] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._actions: dict[str, Callable[[str, dict[str, Any]], Reply]] = {
            "CreateSamplingRule": self._create,
            "GetSamplingRules": self._list,
            "UpdateSamplingRule": self._update,
            "DeleteSamplingRule": self._delete,
            "ListTagsForResource": self._list_tags,
            "TagResource": self._tag,
            "UntagResource": self._untag,
        }

    def claims(self, request: Request) -> bool:
        return request.service == "xray" and request.path.strip("/") in self._actions

    def answer(self, request: Request, forward: Forward) -> Reply:
        action = request.path.strip("/")
        sent = request.json()
        self.counts.add(f"xray {action}")
        with self.lock:
            return self._actions[action](request.region, sent)

    def _create(self, region: str, sent: dict[str, Any]) -> Reply:
        rule = dict(sent.get("SamplingRule") or {})
        name = str(rule.get("RuleName", ""))
        if (region, name) in self._rules:
            return _error(f"rule {name} already exists")
        rule["RuleARN"] = f"arn:aws:xray:{region}:{ACCOUNT}:sampling-rule/{name}"
        rule.setdefault("Attributes", {})
        now = time.time()
        record = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
        self._rules[(region, name)] = record
        self._tags[rule["RuleARN"]] = {tag["Key"]: tag["Value"] for tag in sent.get("Tags") or []}
        return _ok({"SamplingRuleRecord": record})

    def _list(self, region: str, sent: dict[str, Any]) -> Reply:
        records = [r for (where, _), r in self._rules.items() if where == region]
        return _ok({"SamplingRuleRecords": records})

    def _update(self, region: str, sent: dict[str, Any]) -> Reply:
        update = dict(sent.get("SamplingRuleUpdate") or {})
        found = self._rule(region, update)
        if found is None:
            return _error("rule not found")
        found["SamplingRule"].update(
            {k: v for k, v in update.items() if k not in ("RuleName", "RuleARN")}
        )
        found["ModifiedAt"] = time.time()
        return _ok({"SamplingRuleRecord": found})

    def _delete(self, region: str, sent: dict[str, Any]) -> Reply:
        found = self._rule(region, sent)
        if found is None:
            return _error("rule not found")
        rule = found["SamplingRule"]
        del self._rules[(region, rule["RuleName"])]
        self._tags.pop(rule["RuleARN"], None)
        return _ok({"SamplingRuleRecord": found})

    def _held_tags(self, sent: Mapping[str, Any]) -> dict[str, str]:
        return self._tags.setdefault(str(sent.get("ResourceARN", "")), {})

    def _list_tags(self, region: str, sent: dict[str, Any]) -> Reply:
        listed = [{"Key": k, "Value": v} for k, v in sorted(self._held_tags(sent).items())]
        return _ok({"Tags": listed})

    def _tag(self, region: str, sent: dict[str, Any]) -> Reply:
        self._held_tags(sent).update({tag["Key"]: tag["Value"] for tag in sent.get("Tags") or []})
        return _ok({})

    def _untag(self, region: str, sent: dict[str, Any]) -> Reply:
        tags = self._held_tags(sent)
        for key in sent.get("TagKeys") or []:
            tags.pop(key, None)
        return _ok({})

    def _rule(self, region: str, sent: Mapping[str, Any]) -> dict[str, Any] | None:
        """The rule a request names by RuleName or RuleARN, in `region`."""
        name = sent.get("RuleName") or str(sent.get("RuleARN", "")).rpartition("/")[2]
        return self._rules.get((region, str(name)))
