"""RegionDomain: api.<domain> in one region (ACM certificate, validation, custom domain)."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.api_gateway_domain_name import (
    ApiGatewayDomainName,
    ApiGatewayDomainNameEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from constructs import Construct


class RegionDomain(Construct):
    """Owns, in one region: the certificate for api.<domain>, its validation and the custom domain.

    ACM's DNS-validation CNAME is the same in every region for the same name
    and account, so only the first region creates it (`validation_fqdn=None`);
    the others pass that record's FQDN in and wait for it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider: AwsProvider,
        api_domain: str,
        hosted_zone_id: str,
        rest_api_id: str,
        stage_name: str,
        validation_fqdn: str | None,
    ) -> None:
        super().__init__(scope, id_)
        certificate = AcmCertificate(
            self,
            "certificate",
            provider=provider,
            domain_name=api_domain,
            validation_method="DNS",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        if validation_fqdn is None:
            option = certificate.domain_validation_options.get(0)
            record = Route53Record(
                self,
                "validation_record",
                provider=provider,
                zone_id=hosted_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                # Safe to share: the value is identical for every region's certificate.
                allow_overwrite=True,
            )
            validation_fqdn = record.fqdn
        self.validation_fqdn = validation_fqdn
        validation = AcmCertificateValidation(
            self,
            "validation",
            provider=provider,
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_fqdn],
        )
        self.domain_name = ApiGatewayDomainName(
            self,
            "domain",
            provider=provider,
            domain_name=api_domain,
            regional_certificate_arn=validation.certificate_arn,
            endpoint_configuration=ApiGatewayDomainNameEndpointConfiguration(types=["REGIONAL"]),
            security_policy="TLS_1_2",
        )
        self.mapping = ApiGatewayBasePathMapping(
            self,
            "mapping",
            provider=provider,
            api_id=rest_api_id,
            stage_name=stage_name,
            domain_name=self.domain_name.domain_name,
        )
        # Where Route 53 points api.<domain> for this region.
        self.target_domain_name = self.domain_name.regional_domain_name
        self.target_zone_id = self.domain_name.regional_zone_id
