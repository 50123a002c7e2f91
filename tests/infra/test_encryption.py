"""The data key: multi-region, rotating, usable only by the services that need it."""

from __future__ import annotations

from cdktf import Testing
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_replica_key import KmsReplicaKey

from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, only, region_of, resources


def test_primary_key_is_multi_region_and_rotates(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(ROOT),
        KmsKey.TF_RESOURCE_TYPE,
        {"multi_region": True, "enable_key_rotation": True, "provider": "aws.us_east_1"},
    )


def test_a_key_replica_in_every_other_region_and_us_east_1(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        primary = only(app, KmsKey.TF_RESOURCE_TYPE)
        assert region_of(primary) == app.settings.primary_region
        replicas = sorted(
            region_of(r) for r in resources(app, KmsReplicaKey.TF_RESOURCE_TYPE).values()
        )
        expected = set(app.settings.regions[1:])
        if "us-east-1" not in app.settings.regions:
            expected.add("us-east-1")  # the Route 53 alarm topic lives there
        assert replicas == sorted(expected), app.name


def test_key_policy_grants_only_the_named_services(default_app: Synthesized) -> None:
    docs = default_app.data_sources(ROOT, DataAwsIamPolicyDocument.TF_RESOURCE_TYPE)
    key_policies = {name: doc for name, doc in docs.items() if "_key_policy" in name}
    assert len(key_policies) == len(default_app.settings.regions)
    for name, doc in key_policies.items():
        region = next(r for r in default_app.settings.regions if r.replace("-", "_") in name)
        services = {
            identifier
            for statement in doc["statement"]
            for principal in statement.get("principals", [])
            if principal["type"] == "Service"
            for identifier in principal["identifiers"]
        }
        assert services == {
            f"logs.{region}.amazonaws.com",
            "cloudwatch.amazonaws.com",
            "sns.amazonaws.com",
        }
        via = [
            c["values"]
            for s in doc["statement"]
            for c in s.get("condition", [])
            if c["variable"] == "kms:ViaService"
        ]
        assert via == [[f"dynamodb.{region}.amazonaws.com"]]
