"""Budgets: notifications' subscribers and budget tags, patched into the emulator process."""

from __future__ import annotations

import json
from typing import Any

from rehearsal.shims.core import Gap
from rehearsal.shims.moto_version import for_moto

GAP = Gap(
    resource="aws_budgets_budget",
    call="budgets DescribeSubscribersForNotification, ListTagsForResource / "
    "TagResource / UntagResource; the ResourceTags of CreateBudget",
    emulator="not implemented (HTTP 500); CreateBudget ignores ResourceTags; the "
    "provider retries the reads until it gives up",
    handling="emulator patch (in the rehearsal's emulator process only, "
    "`patch_budgets`): subscribers are answered from the notifications the emulator "
    "keeps; tags are kept per budget ARN from CreateBudget and the tag calls",
)


@for_moto
def patch_budgets() -> None:
    """Budget notifications' subscribers and budget tags, inside the emulator process
    (see GAP); imports moto on call."""
    from moto.budgets.models import BudgetsBackend
    from moto.budgets.responses import BudgetsResponse

    tags: dict[str, dict[str, str]] = {}

    def arn(account_id: str, budget_name: str) -> str:
        return f"arn:aws:budgets::{account_id}:budget/{budget_name}"

    def describe_subscribers_for_notification(self: Any) -> str:
        backend: BudgetsBackend = self.backend
        wanted = self._get_param("Notification")
        budget = backend.budgets[self._get_param("AccountId")][self._get_param("BudgetName")]
        for notification in budget.notifications:
            if notification.details == wanted:
                return json.dumps({"Subscribers": list(notification.subscribers)})
        return json.dumps({"Subscribers": []})

    create_budget = BudgetsResponse.create_budget
    delete_budget = BudgetsResponse.delete_budget

    def create_budget_with_tags(self: Any) -> str:
        answer = create_budget(self)
        budget = self._get_param("Budget")
        sent = self._get_param("ResourceTags", [])
        tags[arn(self._get_param("AccountId"), budget["BudgetName"])] = {
            tag["Key"]: tag["Value"] for tag in sent
        }
        return answer

    def delete_budget_and_tags(self: Any) -> str:
        answer = delete_budget(self)
        tags.pop(arn(self._get_param("AccountId"), self._get_param("BudgetName")), None)
        return answer

    def list_tags_for_resource(self: Any) -> str:
        held = tags.get(self._get_param("ResourceARN"), {})
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in held.items()]})

    def tag_resource(self: Any) -> str:
        held = tags.setdefault(self._get_param("ResourceARN"), {})
        held.update({tag["Key"]: tag["Value"] for tag in self._get_param("ResourceTags", [])})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        held = tags.setdefault(self._get_param("ResourceARN"), {})
        for key in self._get_param("ResourceTagKeys", []):
            held.pop(key, None)
        return json.dumps({})

    patched = {
        "describe_subscribers_for_notification": describe_subscribers_for_notification,
        "create_budget": create_budget_with_tags,
        "delete_budget": delete_budget_and_tags,
        "list_tags_for_resource": list_tags_for_resource,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
    }
    for name, method in patched.items():
        setattr(BudgetsResponse, name, method)
