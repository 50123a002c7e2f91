"""GlobalTable: the registrations table, its replicas and their autoscaling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from epoch_constructs.providers import region_id
from epoch_settings import TableSettings
from handlers import contract

# (capacity kind, scalable dimension suffix, predefined metric)
_READ = ("read", "ReadCapacityUnits", "DynamoDBReadCapacityUtilization")
_WRITE = ("write", "WriteCapacityUnits", "DynamoDBWriteCapacityUtilization")


def _ignored_changes(provisioned: bool) -> list[str]:
    """What the table resource leaves alone after creation.

    `replica`: replicas are their own resources. `global_secondary_index` under
    both billing modes. PROVISIONED: autoscaling changes the index's capacity.
    PAY_PER_REQUEST: provider 6.13-6.2x (the pinned 6.25 included) shows the
    index removed and re-added on every plan once DynamoDB reports its warm
    throughput (terraform-provider-aws #44692, #46281; fixed by PR #46094 after
    6.25). The index is a set whose element hash includes the computed
    `warm_throughput`, and `ignore_changes` cannot address an attribute inside a
    set element, so the block is ignored whole. Declaring `warm_throughput` to
    match would not hold: DynamoDB raises it with use and refuses to lower it.
    """
    if provisioned:
        return ["read_capacity", "write_capacity", "global_secondary_index", "replica"]
    return ["global_secondary_index", "replica"]


@dataclass(frozen=True)
class TableProps:
    """What the global table reads: its name, the regions (the first holds the table,
    the others a replica each) and the [table] settings."""

    name: str
    regions: tuple[str, ...]
    table: TableSettings


class GlobalTable(Construct):
    """Owns the DynamoDB global table: primary table, one replica per other region, autoscaling.

    Deploys in a single apply. Inline `replica` blocks on a provisioned table
    fail or flap with autoscaling (terraform-provider-aws #13097, #25331), so
    each replica is its own `aws_dynamodb_table_replica`, created only after
    the primary's autoscaling policies exist, and the primary ignores the
    capacity and replica drift that autoscaling and replication cause.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: TableProps,
        providers: Mapping[str, AwsProvider],
        key_arns: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        name = props.name
        table_settings = props.table
        provisioned = table_settings.billing_mode == "PROVISIONED"
        primary_region, *replica_regions = props.regions
        capacity: dict[str, int] = (
            {"read_capacity": table_settings.read_min, "write_capacity": table_settings.write_min}
            if provisioned
            else {}
        )
        self.name = name
        self.table = DynamodbTable(
            self,
            "table",
            provider=providers[primary_region],
            name=name,
            billing_mode=table_settings.billing_mode,
            hash_key=contract.HASH_KEY,
            attribute=[DynamodbTableAttribute(name=a, type="S") for a in contract.KEY_ATTRIBUTES],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=contract.LIST_INDEX_NAME,
                    hash_key=contract.LIST_INDEX_HASH_KEY,
                    range_key=contract.LIST_INDEX_RANGE_KEY,
                    projection_type="INCLUDE",
                    non_key_attributes=list(contract.LIST_INDEX_PROJECTED),
                    **capacity,
                )
            ],
            # Global tables replicate through streams.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=key_arns[primary_region]
            ),
            deletion_protection_enabled=table_settings.deletion_protection_enabled,
            # Set on the table alone: global tables (2019.11.21) replicate TTL deletes
            # to every replica, and each replica's index drops them with its item.
            ttl=(
                DynamodbTableTtl(attribute_name=contract.TTL_ATTRIBUTE, enabled=True)
                if table_settings.retention_days > 0
                else None
            ),
            lifecycle=TerraformResourceLifecycle(ignore_changes=_ignored_changes(provisioned)),
            **capacity,
        )
        self.arn = self.table.arn
        self.stream_arn = self.table.stream_arn

        primary_policies: list[ITerraformDependable] = []
        if provisioned:
            primary_policies = self._autoscale(
                primary_region, providers[primary_region], table_settings
            )

        self.replicas: dict[str, DynamodbTableReplicaA] = {}
        # One replica at a time: adding one puts the table in UPDATING, and the
        # provider retries ResourceInUseException only for the replica's create
        # call, not for the follow-up UpdateTable that sets its deletion
        # protection (nor the PITR update), so a second replica created in
        # parallel can fail there (internal/service/dynamodb/table_replica.go).
        previous: list[ITerraformDependable] = primary_policies
        for region in replica_regions:
            replica = DynamodbTableReplicaA(
                self,
                f"{region_id(region)}_replica",
                provider=providers[region],
                global_table_arn=self.table.arn,
                kms_key_arn=key_arns[region],
                # Not inherited from the primary: every replica sets its own.
                point_in_time_recovery=True,
                deletion_protection_enabled=table_settings.deletion_protection_enabled,
                depends_on=previous,
            )
            self.replicas[region] = replica
            previous = [replica]
        # No autoscaling resources for the replicas: DynamoDB creates each
        # replica's scalable targets and target-tracking policies itself, copied
        # from the primary, and a second policy for the same metric fails with
        # "Only one TargetTrackingScaling policy for a given metric
        # specification is allowed" (terraform-provider-aws #41179). DynamoDB
        # keeps write autoscaling in sync across replicas; a replica's read
        # bounds stay as copied at creation (docs/data-model.md).

    def data_in(self, region: str) -> ITerraformDependable:
        """The resource holding the table's data in `region`: the primary table or a replica."""
        holder: ITerraformDependable = self.replicas.get(region, self.table)
        return holder

    def _autoscale(
        self,
        region: str,
        provider: AwsProvider,
        table_settings: TableSettings,
    ) -> list[ITerraformDependable]:
        """Target-tracking autoscaling of reads and writes for the table and its index."""
        bounds = {
            "read": (table_settings.read_min, table_settings.read_max),
            "write": (table_settings.write_min, table_settings.write_max),
        }
        policies: list[ITerraformDependable] = []
        scopes = (
            ("table", f"table/{self.name}", "table"),
            ("index", f"table/{self.name}/index/{contract.LIST_INDEX_NAME}", "index"),
        )
        for scope_id, resource_id, dimension_kind in scopes:
            for kind, dimension, metric in (_READ, _WRITE):
                low, high = bounds[kind]
                base = f"{region_id(region)}_{scope_id}_{kind}"
                target = AppautoscalingTarget(
                    self,
                    f"{base}_target",
                    provider=provider,
                    service_namespace="dynamodb",
                    resource_id=resource_id,
                    scalable_dimension=f"dynamodb:{dimension_kind}:{dimension}",
                    min_capacity=low,
                    max_capacity=high,
                    depends_on=[self.table],
                )
                policies.append(
                    AppautoscalingPolicy(
                        self,
                        f"{base}_policy",
                        provider=provider,
                        name=f"{self.name}-{scope_id}-{kind}-{region}",
                        policy_type="TargetTrackingScaling",
                        service_namespace=target.service_namespace,
                        resource_id=target.resource_id,
                        scalable_dimension=target.scalable_dimension,
                        target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                            target_value=table_settings.target_utilization,
                            predefined_metric_specification=AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                                predefined_metric_type=metric
                            ),
                        ),
                    )
                )
        return policies
