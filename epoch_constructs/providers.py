"""One aliased AWS provider per configured region."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from epoch_settings import Settings


def region_id(region: str) -> str:
    """Construct-id form of a region (us-east-1 -> us_east_1); stable Terraform addresses."""
    return region.replace("-", "_")


def regional_providers(
    scope: Construct, settings: Settings, regions: Sequence[str]
) -> dict[str, AwsProvider]:
    """Providers keyed by region, in the given order (the first is the primary).

    Every provider is aliased and every resource names its provider, so no
    resource can land in a region by accident through a default provider.
    """
    tags = {"app": settings.app_name, **settings.tags}
    return {
        region: AwsProvider(
            scope,
            f"aws_{region_id(region)}",
            region=region,
            alias=region_id(region),
            default_tags=[AwsProviderDefaultTags(tags=tags)],
        )
        for region in regions
    }
