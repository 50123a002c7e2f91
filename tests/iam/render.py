"""Policy documents as synthesized (aws_iam_policy_document data sources) rendered to IAM JSON.

Terraform references become realistic values: the account id, and an ARN for
each referenced resource (`${aws_kms_key.state_key.arn}` ->
`arn:aws:kms:us-east-1:123456789012:key/<uuid>`). A reference this module does
not know fails loudly rather than staying in a policy the evaluator would read
as a literal.
"""

from __future__ import annotations

import json
import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
STATE_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
APP_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mrk-22222222222222222222222222222222"
REPLICA_KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/mrk-22222222222222222222222222222222"
OIDC_PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"

_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def _value(reference: str, names: dict[str, str]) -> str:
    if reference == "data.aws_caller_identity.account.account_id":
        return ACCOUNT
    kind, *_, attribute = reference.split(".")
    if kind == "aws_kms_key" and reference.startswith("aws_kms_key.state_key."):
        return STATE_KEY_ARN
    if kind == "aws_kms_key":
        return APP_KEY_ARN
    if kind == "aws_kms_replica_key":
        return REPLICA_KEY_ARN
    if kind == "aws_iam_openid_connect_provider" or reference.startswith(
        "data.aws_iam_openid_connect_provider."
    ):
        return OIDC_PROVIDER_ARN
    if kind == "aws_iam_role" and attribute == "arn":
        return f"arn:aws:iam::{ACCOUNT}:role/{names['deploy_role']}"
    if kind == "aws_s3_bucket" and attribute == "arn":
        return f"arn:aws:s3:::{names['state_bucket']}"
    raise ValueError(f"no realistic value for the reference ${{{reference}}}")


def substitute(text: str, names: dict[str, str]) -> str:
    return _REFERENCE.sub(lambda m: _value(m.group(1), names), text)


def iam_policy(doc: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One data source's document as IAM stores it."""
    statements = []
    for s in doc["statement"]:
        statement: dict[str, Any] = {"Sid": s["sid"], "Effect": s.get("effect", "Allow")}
        for principal in s.get("principals", []):
            statement.setdefault("Principal", {})[principal["type"]] = principal["identifiers"]
        statement["Action"] = s["actions"]
        if "resources" in s:
            statement["Resource"] = s["resources"]
        conditions: dict[str, dict[str, list[str]]] = {}
        for c in s.get("condition", []):
            conditions.setdefault(c["test"], {})[c["variable"]] = c["values"]
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    policy: dict[str, Any] = json.loads(substitute(text, names))
    return policy
