"""Key-policy statements shared by every customer-managed KMS key."""

from __future__ import annotations

from epoch_blocks.policy import Statement

# The account's key administrators and IAM-delegated use of the key. Listed
# rather than "kms:*" so that the policy names what it grants. In a key policy
# the resource "*" means "this key"; nothing narrower exists.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Decrypt",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:ReEncrypt*",
    "kms:ReplicateKey",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)


def account_admin_statement(account_id: str) -> Statement:
    return Statement(
        sid="AccountAdministration",
        actions=KEY_ADMIN_ACTIONS,
        resources=("*",),
        principals={"AWS": (f"arn:aws:iam::{account_id}:root",)},
    )
