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


# What the deploy role ([deploy] settings) may do to the app's own keys. Granted by
# each key's policy, never by a tag: a tag the role could set would let it take
# over any other key (docs/pipeline.md).
DEPLOYER_ACTIONS = (
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReplicateKey",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)


def deployer_statement(deployer_arn: str) -> Statement:
    return Statement(
        sid="DeployRoleAdministration",
        actions=DEPLOYER_ACTIONS,
        resources=("*",),
        principals={"AWS": (deployer_arn,)},
    )
