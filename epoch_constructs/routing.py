"""Routing: Route 53 health checks per region and api.<domain> spread across regions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf import Fn, ITerraformDependable, TerraformLocal, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import (
    Route53Record,
    Route53RecordAlias,
    Route53RecordLatencyRoutingPolicy,
    Route53RecordWeightedRoutingPolicy,
)
from cdktf_cdktf_provider_aws.route53_traffic_policy import Route53TrafficPolicy
from cdktf_cdktf_provider_aws.route53_traffic_policy_instance import (
    Route53TrafficPolicyInstance,
)
from constructs import Construct

from epoch_blocks.tf_json import json_document
from epoch_constructs.providers import region_id
from epoch_settings import Names, RoutingSettings
from handlers import contract

DNS_TTL = 60


@dataclass(frozen=True)
class RegionEndpoint:
    """One region as Route 53 sees it."""

    region: str
    execute_api_host: str  # the region's own API endpoint, probed by its health check
    stage_name: str
    target_domain_name: str  # the regional custom domain's target (d-….execute-api…)
    target_zone_id: str
    # What must exist before the region is probed or api.<domain> points at it: everything
    # GET /health needs to answer 200 (table or replica, aliases, warm pools, invoke
    # permissions, the stage behind the base path mapping).
    serving: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class RoutingProps:
    """What routing reads: the names, the hosted zone, the regions with their weights
    (settings `routing.weights` or `routing.default_weight`) and the [routing] settings."""

    names: Names
    hosted_zone_id: str
    regions: tuple[str, ...]
    weights: Mapping[str, int]
    routing: RoutingSettings


def traffic_policy_document(
    props: RoutingProps, endpoints: Mapping[str, RegionEndpoint], health_checks: Mapping[str, str]
) -> dict[str, Any]:
    """A weighted traffic policy: one `value` endpoint per region, each behind its health check.

    Route 53 traffic policies have no API Gateway endpoint type; a CNAME to the
    regional custom domain target is what the console builds too.
    """
    return {
        "AWSPolicyFormatVersion": "2015-10-01",
        "RecordType": "CNAME",
        "StartRule": "regions",
        "Endpoints": {
            region: {"Type": "value", "Value": endpoints[region].target_domain_name}
            for region in props.regions
        },
        "Rules": {
            "regions": {
                "RuleType": "weighted",
                "Items": [
                    {
                        "EndpointReference": region,
                        "Weight": str(props.weights[region]),
                        "EvaluateTargetHealth": True,
                        "HealthCheck": health_checks[region],
                    }
                    for region in props.regions
                ],
            }
        },
    }


class Routing(Construct):
    """Owns the health checks and the api.<domain> records (traffic policy or plain records)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: RoutingProps,
        provider: AwsProvider,
        endpoints: Mapping[str, RegionEndpoint],
    ) -> None:
        super().__init__(scope, id_)
        names = props.names
        routing = props.routing
        self.health_check_ids: dict[str, str] = {}
        for region in props.regions:
            endpoint = endpoints[region]
            # Route 53 health checkers time out an HTTPS request after 2 s; /health
            # answers well under that.
            check = Route53HealthCheck(
                self,
                f"{region_id(region)}_health",
                provider=provider,
                type="HTTPS",
                fqdn=endpoint.execute_api_host,
                port=443,
                resource_path=f"/{endpoint.stage_name}{contract.ROUTE_HEALTH.path}",
                request_interval=routing.health_check_interval,
                failure_threshold=routing.health_check_failure_threshold,
                regions=list(routing.health_check_regions),
                measure_latency=routing.health_check_measure_latency,
                enable_sni=True,
                tags={"Name": names.health_check(region)},
                # Probed only once the region can answer 200: a check created
                # earlier fails and fires its alarm during the first deploy.
                depends_on=list(endpoint.serving),
                # Interval and latency measurement cannot change in place; Route 53
                # refuses to delete a check a record still uses, so the new one
                # comes first and the records move to it before the old one goes.
                # Terraform makes everything in depends_on create-before-destroy
                # too; each of those survives it (the invoke permissions take a
                # generated statement id for that reason).
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
            self.health_check_ids[region] = check.id

        # api.<domain> goes live only once every region serves: its replica, functions
        # and custom domain. The health checks probe execute-api hosts, not the
        # domain, so they would not notice a missing base path mapping.
        serving = [d for region in props.regions for d in endpoints[region].serving]
        mode = props.routing.mode
        if mode == "traffic-policy":
            # A local holds the document so its hash is `sha1(local.…)`: hashing the
            # literal would put the JSON inside an HCL expression (cdktf #2620).
            document = TerraformLocal(
                self,
                "traffic_policy_document",
                json_document(traffic_policy_document(props, endpoints, self.health_check_ids)),
            ).as_string
            # A changed document forces a new policy, which fails while the
            # instance still uses the old one (terraform-provider-aws #27767).
            # The name carries the document's hash, so a change creates a new
            # policy first, repoints the instance, then deletes the old one.
            policy = Route53TrafficPolicy(
                self,
                "traffic_policy",
                provider=provider,
                name=Fn.join("-", [names.traffic_policy, Fn.substr(Fn.sha1(document), 0, 8)]),
                comment=f"{names.app}: weighted across {len(props.regions)} regions",
                document=document,
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
            Route53TrafficPolicyInstance(
                self,
                "traffic_policy_instance",
                provider=provider,
                name=names.api_domain,
                hosted_zone_id=props.hosted_zone_id,
                traffic_policy_id=policy.id,
                traffic_policy_version=policy.version,
                ttl=DNS_TTL,
                depends_on=serving,
            )
            return
        for region in props.regions:
            endpoint = endpoints[region]
            Route53Record(
                self,
                f"{region_id(region)}_record",
                provider=provider,
                zone_id=props.hosted_zone_id,
                name=names.api_domain,
                type="A",
                set_identifier=region,
                health_check_id=self.health_check_ids[region],
                alias=Route53RecordAlias(
                    name=endpoint.target_domain_name,
                    zone_id=endpoint.target_zone_id,
                    evaluate_target_health=True,
                ),
                weighted_routing_policy=(
                    Route53RecordWeightedRoutingPolicy(weight=props.weights[region])
                    if mode == "weighted-records"
                    else None
                ),
                latency_routing_policy=(
                    Route53RecordLatencyRoutingPolicy(region=region)
                    if mode == "latency-records"
                    else None
                ),
                depends_on=serving,
            )
