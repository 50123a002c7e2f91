"""One aliased AWS provider per configured region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct


def region_id(region: str) -> str:
    """Construct-id form of a region (us-east-1 -> us_east_1); stable Terraform addresses."""
    return region.replace("-", "_")


def regional_providers(
    scope: Construct, tags: Mapping[str, str], regions: Sequence[str]
) -> dict[str, AwsProvider]:
    """Providers keyed by region, in the given order (the first is the primary).

    Every provider is aliased and every resource names its provider, so no
    resource can land in a region by accident through a default provider. `tags`
    go on every resource (default tags).
    """
    return {
        region: AwsProvider(
            scope,
            f"aws_{region_id(region)}",
            region=region,
            alias=region_id(region),
            default_tags=[AwsProviderDefaultTags(tags=dict(tags))],
        )
        for region in regions
    }
