"""MultiRegionKey: one customer-managed multi-region KMS key, replicated to every region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_replica_key import KmsReplicaKey
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from epoch_blocks.encryption_policy import account_admin_statement, deployer_statement
from epoch_blocks.policy import Condition, Statement, policy_document
from epoch_constructs.providers import region_id

USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


def _service_statements(region: str, account_id: str) -> list[Statement]:
    """Who may use the key in `region` besides the account's own principals."""
    return [
        # DynamoDB encrypts the table replica through grants made on the caller's behalf.
        Statement(
            sid="DynamoDBTableEncryption",
            actions=(*USE_ACTIONS, "kms:CreateGrant"),
            resources=("*",),
            principals={"AWS": (f"arn:aws:iam::{account_id}:root",)},
            conditions=(
                Condition("StringEquals", "kms:ViaService", (f"dynamodb.{region}.amazonaws.com",)),
                Condition("StringEquals", "kms:CallerAccount", (account_id,)),
            ),
        ),
        # Lambda, API Gateway and WAF log groups of this account and region only.
        Statement(
            sid="CloudWatchLogsEncryption",
            actions=USE_ACTIONS,
            resources=("*",),
            principals={"Service": (f"logs.{region}.amazonaws.com",)},
            conditions=(
                Condition(
                    "ArnLike",
                    "kms:EncryptionContext:aws:logs:arn",
                    (f"arn:aws:logs:{region}:{account_id}:log-group:*",),
                ),
            ),
        ),
        # Alarms publishing to the KMS-encrypted SNS topic.
        Statement(
            sid="CloudWatchAlarmsPublish",
            actions=("kms:Decrypt", "kms:GenerateDataKey*"),
            resources=("*",),
            principals={"Service": ("cloudwatch.amazonaws.com",)},
            conditions=(Condition("StringEquals", "aws:SourceAccount", (account_id,)),),
        ),
        # SNS decrypting its own topic's messages for delivery.
        Statement(
            sid="SnsTopicEncryption",
            actions=("kms:Decrypt", "kms:GenerateDataKey*"),
            resources=("*",),
            principals={"Service": ("sns.amazonaws.com",)},
            conditions=(Condition("StringEquals", "aws:SourceAccount", (account_id,)),),
        ),
    ]


class MultiRegionKey(Construct):
    """Owns the data key: a multi-region primary in the first region, a replica in each other."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        providers: Mapping[str, AwsProvider],
        regions: Sequence[str],
        account_id: str,
        alias: str,
        description: str,
        deployer_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        primary_region, *replica_regions = regions
        self.arns: dict[str, str] = {}

        def key_policy(region: str) -> str:
            doc = policy_document(
                self,
                f"{region_id(region)}_key_policy",
                [
                    account_admin_statement(account_id),
                    *([deployer_statement(deployer_arn)] if deployer_arn else []),
                    *_service_statements(region, account_id),
                ],
                provider=providers[region],
            )
            return str(doc.json)

        primary = KmsKey(
            self,
            "primary",
            provider=providers[primary_region],
            description=description,
            multi_region=True,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(primary_region),
        )
        keys: dict[str, KmsKey | KmsReplicaKey] = {primary_region: primary}
        for region in replica_regions:
            keys[region] = KmsReplicaKey(
                self,
                f"{region_id(region)}_replica",
                provider=providers[region],
                description=description,
                primary_key_arn=primary.arn,
                deletion_window_in_days=30,
                policy=key_policy(region),
            )
        for region, key in keys.items():
            KmsAlias(
                self,
                f"{region_id(region)}_alias",
                provider=providers[region],
                name=alias,
                target_key_id=key.key_id,
            )
            self.arns[region] = key.arn
