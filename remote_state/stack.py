"""RemoteStateStack: the S3 state bucket and DynamoDB lock table; its own state ends up in them."""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from epoch_blocks.encryption_policy import account_admin_statement
from epoch_blocks.policy import Condition, Statement, policy_document
from epoch_blocks.state_backend import s3_state_backend
from epoch_settings import Settings
from remote_state.deploy_role import DeployRole

STACK_NAME = "remote-state"
# Old state versions are kept this long after being superseded.
NONCURRENT_VERSION_DAYS = 90
KEEP = TerraformResourceLifecycle(prevent_destroy=True)
# Provider 6.22-6.39 shows an in-place update on every plan of an encryption rule
# without blocked_encryption_types (terraform-provider-aws #47320); SSE-C is the
# one type a state bucket never needs.
BLOCKED_ENCRYPTION_TYPES = ["SSE-C"]


class RemoteStateStack(TerraformStack):
    """Owns the state bucket, the lock table and their KMS key (primary region)."""

    def __init__(
        self,
        scope: Construct,
        *,
        settings: Settings,
        local_state: str | None = None,
        protected: bool = True,
    ) -> None:
        """`local_state`: keep this stack's state in that file (relative to the stack's
        folder) instead of its own bucket: only while `pipenv run bootstrap` creates
        the bucket and `pipenv run teardown` removes it (docs/deploying.md).
        `protected` False lifts prevent_destroy and deletion protection, for teardown.
        """
        super().__init__(scope, STACK_NAME)
        names = settings.names
        if local_state is None:
            s3_state_backend(
                self, names, region=settings.primary_region, key=names.bootstrap_state_key
            )
        else:
            LocalBackend(self, path=local_state)
        keep = KEEP if protected else None
        AwsProvider(
            self,
            "aws",
            region=settings.primary_region,
            default_tags=[AwsProviderDefaultTags(tags=dict(settings.tags))],
        )
        account = DataAwsCallerIdentity(self, "account")

        key_policy = policy_document(
            self, "state_key_policy", [account_admin_statement(account.account_id)]
        )
        key = KmsKey(
            self,
            "state_key",
            description=f"{names.app}: Terraform state bucket and lock table",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
            lifecycle=keep,
        )
        KmsAlias(self, "state_key_alias", name=names.state_key_alias, target_key_id=key.key_id)

        bucket = S3Bucket(
            self,
            "state_bucket",
            bucket=names.state_bucket,
            lifecycle=keep,
            # Teardown only: every object version goes with the bucket.
            force_destroy=None if protected else True,
        )
        S3BucketVersioningA(
            self,
            "state_bucket_versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "state_bucket_encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                    blocked_encryption_types=BLOCKED_ENCRYPTION_TYPES,
                )
            ],
        )
        public_access = S3BucketPublicAccessBlock(
            self,
            "state_bucket_public_access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        tls_only = policy_document(
            self,
            "state_bucket_tls_only",
            [
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=("s3:*",),
                    resources=(bucket.arn, f"{bucket.arn}/*"),
                    principals={"*": ("*",)},
                    conditions=(Condition("Bool", "aws:SecureTransport", ("false",)),),
                )
            ],
        )
        # One bucket-level change at a time: a policy and a public access block put
        # together on a new bucket can fail with 409 OperationAborted
        # (terraform-provider-aws #7628).
        S3BucketPolicy(
            self,
            "state_bucket_policy",
            bucket=bucket.id,
            policy=tls_only.json,
            depends_on=[public_access],
        )
        S3BucketLifecycleConfiguration(
            self,
            "state_bucket_lifecycle",
            bucket=bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-state-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=NONCURRENT_VERSION_DAYS
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=7
                        )
                    ],
                )
            ],
        )

        lock_table = DynamodbTable(
            self,
            "lock_table",
            name=names.lock_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key="LockID",
            attribute=[DynamodbTableAttribute(name="LockID", type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=key.arn
            ),
            deletion_protection_enabled=protected,
            lifecycle=keep,
        )

        TerraformOutput(
            self,
            "state_bucket_name",
            value=bucket.bucket,
            description="S3 bucket holding the root stack's Terraform state",
        )
        TerraformOutput(
            self, "state_bucket_arn", value=bucket.arn, description="ARN of the state bucket"
        )
        TerraformOutput(
            self,
            "lock_table_name",
            value=lock_table.name,
            description="DynamoDB table used for Terraform state locking",
        )
        TerraformOutput(
            self,
            "state_key_arn",
            value=key.arn,
            description="KMS key encrypting the state bucket and lock table",
        )
        if settings.deploy.github_repository is not None:
            deploy = DeployRole(
                self,
                "deploy",
                settings=settings,
                account=account.account_id,
                state_key_arn=key.arn,
            )
            TerraformOutput(
                self,
                "deploy_role_arn",
                value=deploy.role.arn,
                description="Role GitHub Actions assumes to deploy (repository variable "
                "AWS_DEPLOY_ROLE_ARN)",
            )
