"""The settings schema (pydantic) and the names derived from it.

Every field is documented in docs/settings.md (a test compares them); unknown keys are
rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from functools import cached_property
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
# Where Route 53 can run health checkers (HealthCheckConfig.Regions); at least 3 must be chosen.
CheckerRegion = Literal[
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
]
HEALTH_CHECKER_REGIONS: tuple[str, ...] = get_args(CheckerRegion)
HEALTH_CHECKER_REGIONS_MIN = 3
CheckerRegionTuple = Annotated[
    tuple[CheckerRegion, ...],
    BeforeValidator(_array_to_tuple),
    Field(min_length=HEALTH_CHECKER_REGIONS_MIN, max_length=len(HEALTH_CHECKER_REGIONS)),
]


# A problem found by a cross-field check: (dotted key relative to the model, what is wrong).
Problem = tuple[str, str]
CheckMethod = Callable[..., Iterator[Problem]]
# pydantic error type of a failed cross-field check; the loader reports these itself.
CROSS_CHECK_ERROR = "cross_field_check"


def cross_check(*reads: str) -> Callable[[CheckMethod], CheckMethod]:
    """Mark a model method as a cross-field check that reads the given (dotted) fields.

    A check yields every problem it finds instead of raising, so that all of them
    are reported in one run; the loader also runs it when other fields are invalid,
    as long as the fields it reads are valid.
    """

    def mark(method: CheckMethod) -> CheckMethod:
        method.__cross_check_reads__ = reads  # type: ignore[attr-defined]
        return method

    return mark


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, regex_engine="python-re")

    @classmethod
    def cross_checks(cls) -> list[tuple[tuple[str, ...], CheckMethod]]:
        """Every cross-field check of this model: (the fields it reads, the method)."""
        checks: list[tuple[tuple[str, ...], CheckMethod]] = []
        for name in dir(cls):
            method = getattr(cls, name, None)
            reads = getattr(method, "__cross_check_reads__", None)
            if reads is not None and callable(method):
                checks.append((tuple(reads), method))
        return checks

    def cross_check_problems(self, valid: Container[str] | None = None) -> Iterator[Problem]:
        """Problems of this model's own checks, skipping checks that read a field not in `valid`."""
        for reads, method in self.cross_checks():
            if valid is None or all(read in valid for read in reads):
                yield from method(self)

    @model_validator(mode="after")
    def _run_cross_checks(self) -> Self:
        problems = list(self.cross_check_problems())
        if problems:
            raise PydanticCustomError(
                CROSS_CHECK_ERROR,
                "{summary}",
                {"summary": "; ".join(f"{key}: {text}" for key, text in problems)},
            )
        return self


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
    # Seconds between one checker's probes: 30 (standard) or 10 (fast, +$1/check/month
    # and 3x the probe traffic). A region is out after threshold x interval (+ DNS TTL).
    health_check_interval: Literal[10, 30] = 30
    # Where Route 53 probes from; each checker region adds probes to every region's API.
    health_check_regions: CheckerRegionTuple = ("us-east-1", "us-west-2", "eu-west-1")
    # Route 53's latency graphs per checker region (+$1/check/month).
    health_check_measure_latency: bool = False

    @cross_check("health_check_regions")
    def _distinct_checkers(self) -> Iterator[Problem]:
        duplicates = sorted(
            {r for r in self.health_check_regions if self.health_check_regions.count(r) > 1}
        )
        if duplicates:
            yield (
                "health_check_regions",
                f"duplicate region {', '.join(duplicates)}; "
                f"list at least {HEALTH_CHECKER_REGIONS_MIN} different checker regions",
            )


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

    @cross_check("read_min", "read_max")
    def _read_bounds(self) -> Iterator[Problem]:
        if self.read_min > self.read_max:
            yield "read_min", f"{self.read_min} must not exceed read_max ({self.read_max})"

    @cross_check("write_min", "write_max")
    def _write_bounds(self) -> Iterator[Problem]:
        if self.write_min > self.write_max:
            yield "write_min", f"{self.write_min} must not exceed write_max ({self.write_max})"


class LambdaSettings(_Section):
    """The three functions' size and warm capacity."""

    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 256
    architecture: Literal["arm64", "x86_64"] = "arm64"
    # Above the handlers' worst-case SDK time, below API Gateway's 29 s. The lower
    # bound is the cross-field check below alone, so every low value gets its reason.
    timeout_seconds: Annotated[int, Field(le=28)] = 10
    # Provisioned concurrency per function alias per region; 0 turns it off.
    provisioned_concurrency: Annotated[int, Field(ge=0, le=1000)] = 2
    # Lambda's own START/END/REPORT lines for the health function (every probe):
    # WARN drops them (duration stays in the Lambda metrics); the handler's lines stay.
    health_system_log_level: Literal["DEBUG", "INFO", "WARN"] = "WARN"

    @cross_check("timeout_seconds")
    def _outlasts_sdk_retries(self) -> Iterator[Problem]:
        if self.timeout_seconds < contract.LAMBDA_TIMEOUT_MIN_SECONDS:
            yield (
                "timeout_seconds",
                f"must be at least {contract.LAMBDA_TIMEOUT_MIN_SECONDS}: the "
                f"handlers' worst-case DynamoDB call takes {contract.SDK_WORST_CASE_SECONDS:g} s "
                f"(handlers/contract.py), and a call cut off by Lambda returns no clean 503",
            )


class ApiSettings(_Section):
    """API Gateway stage throttling and the WAF per-IP rate rule."""

    throttle_rate_limit: Annotated[float, Field(gt=0, le=100000)] = 100.0
    throttle_burst_limit: Annotated[int, Field(ge=1, le=100000)] = 200
    # Requests per client IP per 5 minutes before WAF blocks it.
    waf_rate_limit: Annotated[int, Field(ge=100, le=2000000000)] = 2000
    # Per-method CloudWatch metrics, priced as custom metrics for each method that
    # gets requests (the alarms and dashboards use the free stage-level ones).
    detailed_metrics_enabled: bool = True
    # Share of GET /health requests X-Ray traces (0-1); other requests keep X-Ray's
    # default sampling (1 per second plus 5%).
    health_trace_rate: Annotated[float, Field(ge=0, le=1)] = 0.0


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


# Alarms of a region (epoch_constructs/monitoring.py) a canary rollout may gate on.
GateAlarm = Literal[
    "api-5xx-rate",
    "api-p99-latency",
    "function-errors",
    "function-throttles",
    "table-throttles",
    "replication-latency",
]
GATE_ALARMS: tuple[str, ...] = get_args(GateAlarm)
# A bake must outlast the regional alarms' evaluation window (monitoring.py: 5 periods
# of 60 s), or an alarm the new code trips at the start of a bake could fire after it.
ROLLOUT_BAKE_MIN_SECONDS = 300


class RolloutSettings(_Section):
    """How new Lambda code reaches the regions: all at once, or canary region by region."""

    # all-at-once: every apply moves every region's `live` alias. canary: applies
    # publish versions only; `pipenv run rollout` moves the aliases (docs/rollout.md).
    mode: Literal["all-at-once", "canary"] = "all-at-once"
    # Share of a region's traffic the new version gets in the first step.
    canary_percent: Annotated[int, Field(ge=1, le=50)] = 10
    # Traffic steps per region, the last at 100 %; between them the share grows evenly.
    steps: Annotated[int, Field(ge=2, le=10)] = 2
    # How long each step is watched (alarms, synthetic check) before the next.
    bake_seconds: Annotated[int, Field(ge=ROLLOUT_BAKE_MIN_SECONDS, le=3600)] = 600
    # Regions in rollout order; empty means the order of `regions`.
    region_order: RegionTuple = ()
    # Which of each region's alarms stop and roll back the rollout.
    gate_alarms: Annotated[
        tuple[GateAlarm, ...], BeforeValidator(_array_to_tuple), Field(min_length=1, max_length=6)
    ] = ("api-5xx-rate", "api-p99-latency", "function-errors", "function-throttles")

    @cross_check("gate_alarms")
    def _distinct_gate_alarms(self) -> Iterator[Problem]:
        duplicates = sorted({a for a in self.gate_alarms if self.gate_alarms.count(a) > 1})
        if duplicates:
            yield "gate_alarms", f"duplicate alarm {', '.join(duplicates)}"

    def shares(self) -> tuple[int, ...]:
        """Percent of traffic on the new version at each step, the last 100."""
        span = 100 - self.canary_percent
        return tuple(
            self.canary_percent + round(span * step / (self.steps - 1))
            for step in range(self.steps)
        )


class Settings(_Section):
    """One deployment of EpochRegister."""

    app_name: AppName = "epoch-register"
    # The first region is the primary (KMS primary key, primary table, state backend).
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
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, regex_engine="python-re", populate_by_name=True
    )

    @cross_check("domain_name")
    def _api_domain_fits_a_certificate(self) -> Iterator[Problem]:
        api_domain = f"api.{self.domain_name}"
        if len(api_domain) > ACM_MAX_DOMAIN_LENGTH:
            yield (
                "domain_name",
                f"the API's name {api_domain} is {len(api_domain)} characters; "
                f"an ACM certificate's domain name allows at most {ACM_MAX_DOMAIN_LENGTH}, "
                f"so domain_name may have at most {ACM_MAX_DOMAIN_LENGTH - len('api.')}",
            )

    @cross_check("tags")
    def _no_reserved_tags(self) -> Iterator[Problem]:
        reserved = sorted(k for k in self.tags if k.lower().startswith("aws:"))
        if reserved:
            yield "tags", f"{', '.join(reserved)}: keys starting with 'aws:' are reserved by AWS"

    @cross_check("regions")
    def _no_duplicate_regions(self) -> Iterator[Problem]:
        duplicates = sorted({r for r in self.regions if self.regions.count(r) > 1})
        if duplicates:
            yield "regions", f"duplicate region {', '.join(duplicates)}"

    @cross_check("log_retention_days")
    def _log_retention_is_a_cloudwatch_period(self) -> Iterator[Problem]:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            yield (
                "log_retention_days",
                f"{self.log_retention_days} is not a CloudWatch Logs "
                f"retention period; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )

    @cross_check("regions", "routing.weights", "routing.drill_regions")
    def _routing_names_configured_regions(self) -> Iterator[Problem]:
        for key, listed in (
            ("routing.weights", tuple(self.routing.weights)),
            ("routing.drill_regions", self.routing.drill_regions),
        ):
            unknown = [r for r in listed if r not in self.regions]
            if unknown:
                yield (
                    key,
                    f"{', '.join(unknown)} is not one of the configured regions "
                    f"({', '.join(self.regions)})",
                )

    @cross_check("routing.mode", "routing.weights")
    def _latency_records_take_no_weights(self) -> Iterator[Problem]:
        if self.routing.weights and self.routing.mode == "latency-records":
            yield (
                "routing.weights",
                "latency-records routes by latency and ignores weights; "
                "drain a region with routing.drill_regions instead",
            )

    @cross_check("regions", "routing.weights", "routing.default_weight")
    def _one_region_serves(self) -> Iterator[Problem]:
        if all(self.weight(r) == 0 for r in self.regions):
            yield "routing.weights", "every region has weight 0; at least one must serve"

    @cross_check("regions", "rollout.region_order")
    def _rollout_order_is_the_regions(self) -> Iterator[Problem]:
        order = self.rollout.region_order
        if not order:
            return
        unknown = [r for r in order if r not in self.regions]
        missing = [r for r in self.regions if r not in order]
        repeated = sorted({r for r in order if order.count(r) > 1})
        if unknown or missing or repeated:
            parts = []
            if unknown:
                parts.append(f"{', '.join(unknown)} is not a configured region")
            if missing:
                parts.append(f"{', '.join(missing)} is missing")
            if repeated:
                parts.append(f"{', '.join(repeated)} is listed twice")
            yield (
                "rollout.region_order",
                f"{'; '.join(parts)}: list every configured region once "
                f"({', '.join(self.regions)}), or leave it out for that order",
            )

    @property
    def rollout_order(self) -> tuple[str, ...]:
        return self.rollout.region_order or self.regions

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
