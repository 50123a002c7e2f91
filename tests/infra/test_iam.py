"""Least privilege: no wildcard action or resource outside a documented allow-list."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument

from handlers import contract
from tests.infra.conftest import Synthesized
from tests.infra.helpers import is_key_policy

# Where "*" is the only resource AWS accepts:
# - KMS key policies: "*" means "this key" (data sources named *_key_policy);
# - X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
STAR_RESOURCE_ALLOWED_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The deploy role (bootstrap stack, `[deploy] github_repository`): actions the
# Service Authorization Reference lists with no resource type, so "*" is all AWS
# accepts (the role's creating actions also require the app tag in the request).
STAR_RESOURCE_ALLOWED_ACTIONS |= {
    "kms:CreateKey",
    "kms:ListAliases",
    "acm:RequestCertificate",
    "route53:CreateHealthCheck",
    "route53:CreateTrafficPolicy",
    "route53:ListTrafficPolicies",
    "xray:GetSamplingRules",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
}


def policy_documents(app: Synthesized) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for stack in ("remote-state", "epoch-register"):
        for name, doc in app.data_sources(stack, DataAwsIamPolicyDocument.TF_RESOURCE_TYPE).items():
            docs[f"{stack}/{name}"] = doc
    return docs


def wildcard_problems(name: str, doc: dict[str, Any]) -> list[str]:
    problems = []
    for statement in doc["statement"]:
        if statement.get("effect", "Allow") == "Deny":
            continue  # a broad deny only narrows access
        actions = statement.get("actions", [])
        for action in actions:
            if action == "*" or action.endswith(":*"):
                problems.append(f"{name} {statement['sid']}: wildcard action {action}")
        if "*" in statement.get("resources", []):
            key_policy = is_key_policy(name)
            if not key_policy and not set(actions) <= STAR_RESOURCE_ALLOWED_ACTIONS:
                problems.append(f"{name} {statement['sid']}: resource '*' for {actions}")
    return problems


def test_no_wildcards_outside_the_allow_list(synthesized_apps: dict[str, Synthesized]) -> None:
    for app in synthesized_apps.values():
        docs = policy_documents(app)
        assert len(docs) > 5, app.name
        problems = [p for name, doc in docs.items() for p in wildcard_problems(name, doc)]
        assert problems == [], app.name


def test_the_check_catches_a_wildcard() -> None:
    doc = {"statement": [{"sid": "Bad", "actions": ["dynamodb:*"], "resources": ["*"]}]}
    assert len(wildcard_problems("epoch-register/x_access", doc)) == 2


def function_statements(app: Synthesized, function: str) -> dict[str, dict[str, Any]]:
    docs = app.data_sources("epoch-register", DataAwsIamPolicyDocument.TF_RESOURCE_TYPE)
    (doc,) = [d for name, d in docs.items() if name.startswith(f"function_roles_{function}_access")]
    return {s["sid"]: s for s in doc["statement"]}


# Written here, not imported from the product: what each handler's one storage
# call needs (handlers/store.py), so an action added to a role fails this test.
EXPECTED_TABLE_ACTIONS = {
    # Conditional PutItem; GetItem returns the first registration on an idempotent retry.
    "register": ["dynamodb:GetItem", "dynamodb:PutItem"],
    "read": ["dynamodb:GetItem", "dynamodb:Query"],
    "health": ["dynamodb:GetItem"],
}


def test_each_function_gets_only_its_table_actions(default_app: Synthesized) -> None:
    regions = default_app.settings.regions
    assert set(EXPECTED_TABLE_ACTIONS) == set(contract.FUNCTION_HANDLERS)
    for function in contract.FUNCTION_HANDLERS:
        statements = function_statements(default_app, function)
        assert set(statements) == {"Table", "TableKey", "OwnLogs", "Tracing"}
        table = statements["Table"]
        assert sorted(table["actions"]) == EXPECTED_TABLE_ACTIONS[function]
        assert all(":table/epoch-register-registrations" in arn for arn in table["resources"])
        with_index = any(
            arn.endswith(f"/index/{contract.LIST_INDEX_NAME}") for arn in table["resources"]
        )
        assert with_index == (function == "read")
        (via,) = statements["TableKey"]["condition"]
        assert (via["test"], via["variable"]) == ("StringEquals", "kms:ViaService")
        assert via["values"] == [f"dynamodb.{r}.amazonaws.com" for r in regions]
        logs = statements["OwnLogs"]["resources"]
        assert len(logs) == len(regions)
        assert all(f":log-group:/aws/lambda/epoch-register-{function}:*" in arn for arn in logs)
    assert "dynamodb:PutItem" not in function_statements(default_app, "read")["Table"]["actions"]
    assert "dynamodb:Query" not in function_statements(default_app, "register")["Table"]["actions"]
