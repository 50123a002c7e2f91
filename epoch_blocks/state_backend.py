"""The S3 state backend both stacks keep their state in (the bucket the bootstrap made)."""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack

from epoch_settings import Names


def s3_state_backend(stack: TerraformStack, names: Names, *, region: str, key: str) -> S3Backend:
    """State at `key` in the state bucket (in `region`), under the state key, locked twice."""
    backend = S3Backend(
        stack,
        bucket=names.state_bucket,
        key=key,
        region=region,
        dynamodb_table=names.lock_table,
        # `encrypt` alone sends SSE-S3 (AES256) headers, overriding the bucket's
        # SSE-KMS default; naming the state key keeps state under the CMK. Aliases
        # are accepted from Terraform 1.6.1 (hashicorp/terraform #33979, #33993);
        # `use_lockfile` already needs 1.10.
        encrypt=True,
        kms_key_id=names.state_key_alias,
    )
    # S3-native locking; cdktf 0.21's S3Backend has no `use_lockfile` field.
    backend.add_override("use_lockfile", True)
    return backend
