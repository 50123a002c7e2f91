"""The global table: one apply, replicas with their own PITR and key, autoscaling."""

from __future__ import annotations

import itertools
from typing import Any

from cdktf import Testing
from cdktf_cdktf_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
from cdktf_cdktf_provider_aws.kms_replica_key import KmsReplicaKey

from handlers import contract
from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, only, region_of, resources

REPLICA = DynamodbTableReplicaA.TF_RESOURCE_TYPE


def test_table_schema_matches_the_contract(default_app: Synthesized) -> None:
    table = only(default_app, DynamodbTable.TF_RESOURCE_TYPE)
    assert table["hash_key"] == contract.HASH_KEY
    assert {a["name"] for a in table["attribute"]} == set(contract.KEY_ATTRIBUTES)
    (index,) = table["global_secondary_index"]
    assert index["name"] == contract.LIST_INDEX_NAME
    assert index["hash_key"] == contract.LIST_INDEX_HASH_KEY
    assert index["range_key"] == contract.LIST_INDEX_RANGE_KEY
    assert index["projection_type"] == "INCLUDE"
    assert sorted(index["non_key_attributes"]) == sorted(contract.LIST_INDEX_PROJECTED)


def test_table_is_a_protected_encrypted_streamed_primary(default_app: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        default_app.stack_text(ROOT),
        DynamodbTable.TF_RESOURCE_TYPE,
        {
            "stream_enabled": True,
            "point_in_time_recovery": {"enabled": True},
            "deletion_protection_enabled": True,
            "server_side_encryption": {"enabled": True},
            "provider": "aws.us_east_1",
            # No inline replicas (provider #13097); drift from autoscaling ignored.
            "lifecycle": {
                "ignore_changes": [
                    "read_capacity",
                    "write_capacity",
                    "global_secondary_index",
                    "replica",
                ]
            },
        },
    )
    assert "replica" not in only(default_app, DynamodbTable.TF_RESOURCE_TYPE)


def test_every_other_region_has_a_replica_with_pitr_and_its_own_key(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for app in synthesized_apps.values():
        replicas = resources(app, DynamodbTableReplicaA.TF_RESOURCE_TYPE)
        keys = resources(app, KmsReplicaKey.TF_RESOURCE_TYPE)
        assert sorted(region_of(r) for r in replicas.values()) == sorted(app.settings.regions[1:])
        for replica in replicas.values():
            assert replica["point_in_time_recovery"] is True
            key_address = replica["kms_key_arn"].split(".")[1]
            assert region_of(keys[key_address]) == region_of(replica), app.name


def replica_chain(app: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """(address, replica) in the order of app.settings.regions[1:]."""
    replicas = resources(app, DynamodbTableReplicaA.TF_RESOURCE_TYPE)
    by_region = {region_of(r): (f"{REPLICA}.{n}", r) for n, r in replicas.items()}
    return [by_region[region] for region in app.settings.regions[1:]]


def test_first_replica_waits_for_primary_autoscaling(default_app: Synthesized) -> None:
    policies = resources(default_app, AppautoscalingPolicy.TF_RESOURCE_TYPE)
    primary_policies = {
        f"{AppautoscalingPolicy.TF_RESOURCE_TYPE}.{name}"
        for name, policy in policies.items()
        if region_of(policy) == default_app.settings.primary_region
    }
    assert len(primary_policies) == 4  # table + index, read + write
    (_, first), *_ = replica_chain(default_app)
    assert set(first["depends_on"]) == primary_policies


def test_replicas_are_created_one_after_another(synthesized_apps: dict[str, Synthesized]) -> None:
    # The provider retries ResourceInUseException on the replica's create call
    # but not on the deletion-protection update that follows it.
    app = synthesized_apps["three_regions"]
    chain = replica_chain(app)
    assert len(chain) == 2
    for (previous, _), (_, replica) in itertools.pairwise(chain):
        assert replica["depends_on"] == [previous]
    on_demand = synthesized_apps["latency_on_demand_eu"]
    ((_, only_replica),) = replica_chain(on_demand)
    assert not only_replica.get("depends_on")


def test_index_is_left_alone_after_creation_under_both_billing_modes(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    # PAY_PER_REQUEST too: provider 6.25 plans the index's removal and re-creation
    # on every run once DynamoDB reports its warm throughput (#44692, #46281).
    modes = set()
    for app in synthesized_apps.values():
        table = only(app, DynamodbTable.TF_RESOURCE_TYPE)
        modes.add(table["billing_mode"])
        ignored = table["lifecycle"]["ignore_changes"]
        assert {"global_secondary_index", "replica"} <= set(ignored), app.name
        assert ("read_capacity" in ignored) == (table["billing_mode"] == "PROVISIONED")
    assert modes == {"PROVISIONED", "PAY_PER_REQUEST"}


def test_autoscaling_bounds_come_from_settings(default_app: Synthesized) -> None:
    table = default_app.settings.table
    targets = resources(default_app, AppautoscalingTarget.TF_RESOURCE_TYPE).values()
    reads = [t for t in targets if t["scalable_dimension"].endswith("ReadCapacityUnits")]
    writes = [t for t in targets if t["scalable_dimension"].endswith("WriteCapacityUnits")]
    # Table + index, in the primary region only.
    assert len(reads) == 2
    assert len(writes) == 2
    assert all(
        (t["min_capacity"], t["max_capacity"]) == (table.read_min, table.read_max) for t in reads
    )
    assert all(
        (t["min_capacity"], t["max_capacity"]) == (table.write_min, table.write_max) for t in writes
    )


def test_replica_autoscaling_is_left_to_dynamodb(synthesized_apps: dict[str, Synthesized]) -> None:
    # DynamoDB creates the replicas' policies; a second one for the same metric
    # fails at apply (terraform-provider-aws #41179).
    for app in synthesized_apps.values():
        primary = app.settings.primary_region
        for kind in (AppautoscalingTarget, AppautoscalingPolicy):
            regions = {region_of(r) for r in resources(app, kind.TF_RESOURCE_TYPE).values()}
            assert regions <= {primary}, (app.name, kind.TF_RESOURCE_TYPE, regions)


def test_on_demand_table_has_no_capacity_or_autoscaling(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    app = synthesized_apps["latency_on_demand_eu"]
    table = only(app, DynamodbTable.TF_RESOURCE_TYPE)
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert "read_capacity" not in table
    assert resources(app, AppautoscalingTarget.TF_RESOURCE_TYPE) == {}
