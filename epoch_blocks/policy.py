"""IAM policy documents as `aws_iam_policy_document` data sources.

Policies are never hand-written JSON strings: a data source renders them, and
checkov can read every statement (it cannot parse JSON inside a string).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct


@dataclass(frozen=True)
class Condition:
    test: str
    variable: str
    values: Sequence[str]


@dataclass(frozen=True)
class Statement:
    """One policy statement; `principals` maps a principal type to identifiers."""

    sid: str
    actions: Sequence[str]
    resources: Sequence[str] = ()
    effect: str = "Allow"
    principals: dict[str, Sequence[str]] = field(default_factory=dict)
    conditions: Sequence[Condition] = ()


def policy_document(
    scope: Construct,
    id_: str,
    statements: Sequence[Statement],
    *,
    provider: TerraformProvider | None = None,
) -> DataAwsIamPolicyDocument:
    """Render `statements` as a policy document data source; use `.json`."""
    return DataAwsIamPolicyDocument(
        scope,
        id_,
        provider=provider,
        statement=[
            DataAwsIamPolicyDocumentStatement(
                sid=s.sid,
                effect=s.effect,
                actions=list(s.actions),
                resources=list(s.resources) if s.resources else None,
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(ids))
                    for kind, ids in sorted(s.principals.items())
                ]
                or None,
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test=c.test, variable=c.variable, values=list(c.values)
                    )
                    for c in s.conditions
                ]
                or None,
            )
            for s in statements
        ],
    )
