"""The settings schema (pydantic) and the names derived from it.

Every field is documented in the README's settings reference; unknown keys are
rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from handlers import contract

# Commercial-partition region names, e.g. us-east-1, ap-southeast-2, eu-central-1.
REGION_PATTERN = (
    r"^(us|eu|ap|ca|sa|me|af|il|mx)-"
    r"(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$"
)
# RFC 1123 host names: labels of 1-63 letters, digits and inner hyphens, a TLD of letters.
DOMAIN_PATTERN = r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
EMAIL_PATTERN = (
    r"^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# ACM's limit on a certificate's (first) domain name, which becomes its common name.
ACM_MAX_DOMAIN_LENGTH = 64
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
AppName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")]
# S3 bucket names: 3-63 lowercase letters, digits, hyphens (no dots: TLS wildcard certs).
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
TagKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ .:/=+@-]{1,128}$")]
TagValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ .:/=+@-]{0,256}$")]


def _array_to_tuple(value: object) -> object:
    """TOML arrays load as lists; settings hold tuples (immutable, hashable)."""
    return tuple(value) if isinstance(value, list) else value


RegionTuple = Annotated[tuple[Region, ...], BeforeValidator(_array_to_tuple)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, regex_engine="python-re")


class RoutingSettings(_Section):
    """How Route 53 spreads `api.<domain>` across the regions."""

    mode: Literal["traffic-policy", "weighted-records", "latency-records"] = "traffic-policy"
    # Weight per region (0-255); a region left out gets `default_weight`; 0 drains it.
    weights: dict[Region, Annotated[int, Field(ge=0, le=255)]] = Field(default_factory=dict)
    default_weight: Annotated[int, Field(ge=0, le=255)] = 100
    # Consecutive failed checks before Route 53 marks a region unhealthy.
    health_check_failure_threshold: Annotated[int, Field(ge=1, le=10)] = 3
    # Regions whose GET /health is forced to 503 (failover drill).
    drill_regions: RegionTuple = ()


class TableSettings(_Section):
    """The DynamoDB global table: billing and autoscaling bounds."""

    billing_mode: Literal["PROVISIONED", "PAY_PER_REQUEST"] = "PROVISIONED"
    read_min: Annotated[int, Field(ge=1, le=40000)] = 5
    read_max: Annotated[int, Field(ge=1, le=40000)] = 100
    write_min: Annotated[int, Field(ge=1, le=40000)] = 5
    write_max: Annotated[int, Field(ge=1, le=40000)] = 100
    # Autoscaling target, percent of provisioned capacity.
    target_utilization: Annotated[int, Field(ge=20, le=90)] = 70
    deletion_protection_enabled: bool = True
    # List-index partitions registrations are spread over: 1 keeps a list page
    # at one Query; N lifts the write limit N-fold at N Queries per page.
    # Raise only: lowering hides the registrations in the dropped shards.
    list_shards: Annotated[
        int, Field(ge=contract.LIST_SHARDS_DEFAULT, le=contract.LIST_SHARDS_MAX)
    ] = contract.LIST_SHARDS_DEFAULT

    @model_validator(mode="after")
    def _bounds(self) -> TableSettings:
        if self.read_min > self.read_max:
            raise ValueError("read_min must not exceed read_max")
        if self.write_min > self.write_max:
            raise ValueError("write_min must not exceed write_max")
        return self


class LambdaSettings(_Section):
    """The three functions' size and warm capacity."""

    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 256
    architecture: Literal["arm64", "x86_64"] = "arm64"
    # Above the handlers' worst-case SDK time, below API Gateway's 29 s.
    timeout_seconds: Annotated[int, Field(ge=3, le=28)] = 10
    # Provisioned concurrency per function alias per region; 0 turns it off.
    provisioned_concurrency: Annotated[int, Field(ge=0, le=1000)] = 2

    @model_validator(mode="after")
    def _outlasts_sdk_retries(self) -> LambdaSettings:
        if self.timeout_seconds < contract.LAMBDA_TIMEOUT_MIN_SECONDS:
            raise ValueError(
                f"timeout_seconds must be at least {contract.LAMBDA_TIMEOUT_MIN_SECONDS}: the "
                f"handlers' worst-case DynamoDB call takes {contract.SDK_WORST_CASE_SECONDS:g} s "
                f"(handlers/contract.py), and a call cut off by Lambda returns no clean 503"
            )
        return self


class ApiSettings(_Section):
    """API Gateway stage throttling and the WAF per-IP rate rule."""

    throttle_rate_limit: Annotated[float, Field(gt=0, le=100000)] = 100.0
    throttle_burst_limit: Annotated[int, Field(ge=1, le=100000)] = 200
    # Requests per client IP per 5 minutes before WAF blocks it.
    waf_rate_limit: Annotated[int, Field(ge=100, le=2000000000)] = 2000


class RemoteStateSettings(_Section):
    """Where the root stack keeps its Terraform state (made by the remote-state stack)."""

    bucket: BucketName = "epoch-register-tfstate-example"
    lock_table: TableName = "epoch-register-tflock"
    state_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,1024}$")] = (
        "epoch-register/terraform.tfstate"
    )


# GitHub: an owner of 1-39 letters, digits and inner hyphens; a repository name of
# letters, digits and ._- (not "." or "..").
GITHUB_REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$"
GitRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")]


class DeploySettings(_Section):
    """Optional: the role a GitHub Actions workflow assumes (OIDC) to deploy."""

    # owner/name; unset means no deploy role and no OIDC provider.
    github_repository: (
        Annotated[str, StringConstraints(pattern=GITHUB_REPOSITORY_PATTERN)] | None
    ) = None
    # Pushes to this branch, and jobs in this GitHub environment, may assume the role.
    branch: GitRef = "main"
    environment: GitRef = "production"
    # An account holds one OIDC provider per URL: false uses the existing one.
    create_oidc_provider: bool = True


class Settings(_Section):
    """One deployment of EpochRegister."""

    app_name: AppName = "epoch-register"
    # The first region is the primary (KMS primary key, state backend, shared alarms).
    regions: Annotated[RegionTuple, Field(min_length=2, max_length=10)] = (
        "us-east-1",
        "us-west-2",
    )
    # The hosted zone's domain; the API is served on api.<domain_name>.
    domain_name: Annotated[str, StringConstraints(pattern=DOMAIN_PATTERN)]
    hosted_zone_id: Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,32}$")]
    # Optional: alarms are e-mailed here (the subscription must be confirmed by clicking).
    alarm_email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)] | None = None
    log_retention_days: int = 365
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    table: TableSettings = Field(default_factory=TableSettings)
    # `lambda` is a Python keyword, hence the alias.
    functions: LambdaSettings = Field(default_factory=LambdaSettings, alias="lambda")
    api: ApiSettings = Field(default_factory=ApiSettings)
    remote_state: RemoteStateSettings = Field(default_factory=RemoteStateSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, regex_engine="python-re", populate_by_name=True
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        api_domain = f"api.{self.domain_name}"
        if len(api_domain) > ACM_MAX_DOMAIN_LENGTH:
            raise ValueError(
                f"domain_name: the API's name {api_domain} is {len(api_domain)} characters; "
                f"an ACM certificate's domain name allows at most {ACM_MAX_DOMAIN_LENGTH}, "
                f"so domain_name may have at most {ACM_MAX_DOMAIN_LENGTH - len('api.')}"
            )
        reserved = sorted(k for k in self.tags if k.lower().startswith("aws:"))
        if reserved:
            raise ValueError(
                f"tags: {', '.join(reserved)}: keys starting with 'aws:' are reserved by AWS"
            )
        duplicates = sorted({r for r in self.regions if self.regions.count(r) > 1})
        if duplicates:
            raise ValueError(f"regions: duplicate region {', '.join(duplicates)}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days: {self.log_retention_days} is not a CloudWatch Logs "
                f"retention period; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        for key, listed in (
            ("routing.weights", tuple(self.routing.weights)),
            ("routing.drill_regions", self.routing.drill_regions),
        ):
            unknown = [r for r in listed if r not in self.regions]
            if unknown:
                raise ValueError(
                    f"{key}: {', '.join(unknown)} is not one of the configured regions "
                    f"({', '.join(self.regions)})"
                )
        if self.routing.weights and self.routing.mode == "latency-records":
            raise ValueError(
                "routing.weights: latency-records routes by latency and ignores weights; "
                "drain a region with routing.drill_regions instead"
            )
        if all(self.weight(r) == 0 for r in self.regions):
            raise ValueError("routing.weights: every region has weight 0; at least one must serve")
        return self

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    def weight(self, region: str) -> int:
        return self.routing.weights.get(region, self.routing.default_weight)

    @cached_property
    def names(self) -> Names:
        return Names(self)


class Names:
    """Every resource name derived from settings, computed in this one place."""

    def __init__(self, settings: Settings) -> None:
        app = settings.app_name
        self.app = app
        self.table = f"{app}-registrations"
        self.api = f"{app}-api"
        self.api_domain = f"api.{settings.domain_name}"
        self.data_key_alias = f"alias/{app}-data"
        self.state_key_alias = f"alias/{app}-tfstate"
        self.state_bucket = settings.remote_state.bucket
        self.lock_table = settings.remote_state.lock_table
        self.state_key = settings.remote_state.state_key
        self.traffic_policy = f"{app}-api"
        self.alarm_topic = f"{app}-alarms"
        self.dashboard_prefix = app
        self.apigateway_logs_role = f"{app}-apigateway-logs"
        self.deploy_role = f"{app}-deploy"

    def function(self, function: str) -> str:
        """Lambda function name (functions are regional, so the name repeats per region)."""
        return f"{self.app}-{function}"

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{self.function(function)}"

    def health_check(self, region: str) -> str:
        return f"{self.app}-{region}"
