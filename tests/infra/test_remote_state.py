"""Security properties of the remote-state bootstrap stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
)
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA

from epoch_app.phase import (
    Phase,
    PhaseError,
    bootstrap_state_file,
    local_state_path,
    phase_from_environment,
)
from epoch_constructs.stack import STACK_NAME as ROOT_STACK
from remote_state.stack import STACK_NAME
from tests.infra.conftest import Synthesized

KEEP = {"lifecycle": {"prevent_destroy": True}}


def test_state_bucket_is_named_from_settings_and_kept(default_app: Synthesized) -> None:
    text = default_app.stack_text(STACK_NAME)
    bucket = default_app.settings.remote_state.bucket
    assert Testing.to_have_resource_with_properties(
        text, S3Bucket.TF_RESOURCE_TYPE, {"bucket": bucket, **KEEP}
    )


def test_state_bucket_is_versioned(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(STACK_NAME),
        S3BucketVersioningA.TF_RESOURCE_TYPE,
        {"versioning_configuration": {"status": "Enabled"}},
    )


def test_state_bucket_uses_the_customer_key(default_app: Synthesized) -> None:
    (encryption,) = default_app.resources(
        STACK_NAME, S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE
    ).values()
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${aws_kms_key.state_key.arn}"


def test_state_key_rotates_and_is_kept(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(STACK_NAME),
        KmsKey.TF_RESOURCE_TYPE,
        {"enable_key_rotation": True, **KEEP},
    )


def test_state_bucket_blocks_all_public_access(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(STACK_NAME),
        S3BucketPublicAccessBlock.TF_RESOURCE_TYPE,
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )


def test_state_bucket_policy_denies_plain_http(default_app: Synthesized) -> None:
    doc = default_app.data_sources(STACK_NAME, "aws_iam_policy_document")["state_bucket_tls_only"]
    (statement,) = doc["statement"]
    assert statement["effect"] == "Deny"
    assert statement["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    assert "${aws_s3_bucket.state_bucket.arn}/*" in statement["resources"]
    policy = default_app.resources(STACK_NAME, "aws_s3_bucket_policy")["state_bucket_policy"]
    assert policy["policy"] == "${data.aws_iam_policy_document.state_bucket_tls_only.json}"
    # Not at the same time as the public access block (409 OperationAborted, provider #7628).
    (block,) = default_app.resources(STACK_NAME, S3BucketPublicAccessBlock.TF_RESOURCE_TYPE)
    assert policy["depends_on"] == [f"{S3BucketPublicAccessBlock.TF_RESOURCE_TYPE}.{block}"]


def test_state_bucket_lifecycle_expires_old_versions_and_uploads(default_app: Synthesized) -> None:
    (lifecycle,) = default_app.resources(
        STACK_NAME, S3BucketLifecycleConfiguration.TF_RESOURCE_TYPE
    ).values()
    (rule,) = lifecycle["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] > 0
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] > 0


def test_lock_table_is_encrypted_recoverable_and_kept(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(STACK_NAME),
        DynamodbTable.TF_RESOURCE_TYPE,
        {
            "name": default_app.settings.remote_state.lock_table,
            "hash_key": "LockID",
            "billing_mode": "PAY_PER_REQUEST",
            "point_in_time_recovery": {"enabled": True},
            "server_side_encryption": {
                "enabled": True,
                "kms_key_arn": "${aws_kms_key.state_key.arn}",
            },
            **KEEP,
        },
    )


def test_outputs_are_described(default_app: Synthesized) -> None:
    outputs = default_app.stack(STACK_NAME)["output"]
    assert set(outputs) == {
        "state_bucket_name",
        "state_bucket_arn",
        "lock_table_name",
        "state_key_arn",
    }
    assert all(output.get("description") for output in outputs.values())


def test_own_state_is_in_its_own_bucket_under_its_own_key(default_app: Synthesized) -> None:
    settings = default_app.settings
    (backend,) = default_app.stack(STACK_NAME)["terraform"]["backend"].items()
    assert backend == (
        "s3",
        {
            "bucket": settings.remote_state.bucket,
            "key": f"remote-state/{settings.app_name}.tfstate",
            "region": settings.primary_region,
            "encrypt": True,
            "kms_key_id": f"alias/{settings.app_name}-tfstate",
            "dynamodb_table": settings.remote_state.lock_table,
            "use_lockfile": True,
        },
    )
    assert backend[1]["key"] != settings.remote_state.state_key


def test_state_bucket_blocks_sse_c(default_app: Synthesized) -> None:
    (encryption,) = default_app.resources(
        STACK_NAME, S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE
    ).values()
    assert encryption["rule"][0]["blocked_encryption_types"] == ["SSE-C"]


@pytest.fixture(scope="module")
def teardown_app(default_app: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from epoch_app.app import synth_to

    outdir = tmp_path_factory.mktemp("teardown") / "cdktf.out"
    synth_to(default_app.settings, outdir, Phase("teardown"))
    return outdir


def _stack(outdir: Path, stack: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads((outdir / "stacks" / stack / "cdk.tf.json").read_text())
    return parsed


def test_teardown_phase_keeps_state_outside_the_output_folder(
    default_app: Synthesized, teardown_app: Path
) -> None:
    backend = _stack(teardown_app, STACK_NAME)["terraform"]["backend"]
    path = (teardown_app / "stacks" / STACK_NAME / backend["local"]["path"]).resolve()
    assert path == bootstrap_state_file(default_app.settings.remote_state.bucket)
    assert teardown_app.resolve() not in path.parents
    assert path.parent.name == "bootstrap-state"


def test_teardown_phase_lifts_every_protection(teardown_app: Path) -> None:
    state = _stack(teardown_app, STACK_NAME)["resource"]
    assert not any(
        body.get("lifecycle", {}).get("prevent_destroy")
        for blocks in state.values()
        for body in blocks.values()
    )
    assert state[S3Bucket.TF_RESOURCE_TYPE]["state_bucket"]["force_destroy"] is True
    assert (
        state[DynamodbTable.TF_RESOURCE_TYPE]["lock_table"]["deletion_protection_enabled"] is False
    )
    root = _stack(teardown_app, ROOT_STACK)["resource"]
    protections = [
        body["deletion_protection_enabled"]
        for rtype in (DynamodbTable.TF_RESOURCE_TYPE, DynamodbTableReplicaA.TF_RESOURCE_TYPE)
        for body in root[rtype].values()
    ]
    assert protections
    assert not any(protections)


def test_deploy_phase_keeps_every_protection(default_app: Synthesized) -> None:
    state = default_app.stack(STACK_NAME)["resource"]
    assert "force_destroy" not in state[S3Bucket.TF_RESOURCE_TYPE]["state_bucket"]
    assert (
        state[DynamodbTable.TF_RESOURCE_TYPE]["lock_table"]["deletion_protection_enabled"] is True
    )


def test_bootstrap_phase_puts_state_in_a_local_file_only(tmp_path: Path) -> None:
    assert (
        local_state_path("b", tmp_path / "out", root=tmp_path)
        == "../../../bootstrap-state/b.tfstate"
    )
    assert phase_from_environment({}).local_bootstrap_state is False
    bootstrap = phase_from_environment({"EPOCH_PHASE": "bootstrap"})
    assert bootstrap.local_bootstrap_state
    assert bootstrap.protected
    with pytest.raises(PhaseError, match="EPOCH_PHASE='deplyo' is not one of"):
        phase_from_environment({"EPOCH_PHASE": "deplyo"})
