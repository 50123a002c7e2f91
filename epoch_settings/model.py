"""The settings schema (pydantic) and the names derived from it.

Every field is documented in docs/settings.md (a test compares them); unknown keys are
rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from functools import cached_property
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from epoch_settings import aws_regions
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
# Lambda's concurrent-executions quota of a new account in each region, and the part of
# it that must stay unreserved (provisioned and reserved concurrency take from the rest).
LAMBDA_DEFAULT_CONCURRENCY_QUOTA = 1000
LAMBDA_UNRESERVED_MIN = 100
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


def _commercial_region(name: str) -> str:
    problem = aws_regions.unknown_region_problem(name)
    if problem is not None:
        raise PydanticCustomError("aws_region", "{problem}", {"problem": problem})
    return name


# A name of the region pattern (which gives malformed names their own message) that
# botocore's endpoint data lists in the commercial partition.
Region = Annotated[
    str, StringConstraints(pattern=REGION_PATTERN), AfterValidator(_commercial_region)
]
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
    # Days a registration (and its idempotency key) is kept; 0 keeps it forever.
    # Reads hide older ones at once; DynamoDB's TTL deletes them within days.
    retention_days: Annotated[int, Field(ge=0, le=contract.RETENTION_DAYS_MAX)] = 0

    @cross_check("read_min", "read_max")
    def _read_bounds(self) -> Iterator[Problem]:
        if self.read_min > self.read_max:
            yield "read_min", f"{self.read_min} must not exceed read_max ({self.read_max})"

    @cross_check("write_min", "write_max")
    def _write_bounds(self) -> Iterator[Problem]:
        if self.write_min > self.write_max:
            yield "write_min", f"{self.write_min} must not exceed write_max ({self.write_max})"


class LambdaSettings(_Section):
    """The functions' size and warm capacity (each of contract.FUNCTION_HANDLERS)."""

    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 256
    architecture: Literal["arm64", "x86_64"] = "arm64"
    # Above the handlers' worst-case SDK time, below API Gateway's 29 s. The lower
    # bound is the cross-field check below alone, so every low value gets its reason.
    timeout_seconds: Annotated[int, Field(le=28)] = 10
    # Provisioned concurrency per function alias per region; 0 turns it off.
    provisioned_concurrency: Annotated[int, Field(ge=0, le=1000)] = 2
    # The account's Lambda concurrent-executions quota in each region (Service Quotas
    # L-B99A9384): 1,000 by default, though new accounts often get 10. Only the checks
    # below read it.
    account_concurrency_quota: Annotated[int, Field(ge=10, le=1000000)] = (
        LAMBDA_DEFAULT_CONCURRENCY_QUOTA
    )
    # Reserved concurrency per function per region: a ceiling on what one function
    # can take from the account (and on what a flood of it can cost); 0 = unreserved.
    reserved_concurrency: Annotated[int, Field(ge=0, le=100000)] = 0
    # Lambda's own START/END/REPORT lines for the health function (every probe):
    # WARN drops them (duration stays in the Lambda metrics); the handler's lines stay.
    health_system_log_level: Literal["DEBUG", "INFO", "WARN"] = "WARN"

    @cross_check("provisioned_concurrency", "account_concurrency_quota")
    def _provisioned_concurrency_fits_the_quota(self) -> Iterator[Problem]:
        functions = len(contract.FUNCTION_HANDLERS)
        wanted = self.provisioned_concurrency * functions
        available = self.account_concurrency_quota - LAMBDA_UNRESERVED_MIN
        if wanted > max(available, 0):
            yield (
                "provisioned_concurrency",
                f"{self.provisioned_concurrency} x {functions} functions = {wanted} "
                f"provisioned executions per region, but a concurrency quota of "
                f"{self.account_concurrency_quota} less the {LAMBDA_UNRESERVED_MIN} Lambda "
                f"keeps unreserved leaves {max(available, 0)}: at most "
                f"{max(available, 0) // functions} per function. Lower it, or set "
                "lambda.account_concurrency_quota once AWS has raised the quota "
                "(Service Quotas L-B99A9384) in every region",
            )

    @cross_check("timeout_seconds")
    def _outlasts_sdk_retries(self) -> Iterator[Problem]:
        if self.timeout_seconds < contract.LAMBDA_TIMEOUT_MIN_SECONDS:
            yield (
                "timeout_seconds",
                f"must be at least {contract.LAMBDA_TIMEOUT_MIN_SECONDS}: the "
                f"handlers' worst-case DynamoDB call takes {contract.SDK_WORST_CASE_SECONDS:g} s "
                f"(handlers/contract.py), and a call cut off by Lambda returns no clean 503",
            )

    @cross_check("reserved_concurrency", "provisioned_concurrency")
    def _reserved_holds_the_warm_pool(self) -> Iterator[Problem]:
        reserved, warm = self.reserved_concurrency, self.provisioned_concurrency
        if 0 < reserved < warm:
            yield (
                "reserved_concurrency",
                f"{reserved} is below lambda.provisioned_concurrency ({warm}): a function's "
                "provisioned environments come out of its reserved concurrency; reserve at "
                f"least {warm}, or 0 for no reservation",
            )

    @cross_check("reserved_concurrency", "account_concurrency_quota")
    def _reservations_fit_the_account(self) -> Iterator[Problem]:
        reserved, limit = self.reserved_concurrency, self.account_concurrency_quota
        functions = len(contract.FUNCTION_HANDLERS)
        available = max(limit - LAMBDA_UNRESERVED_MIN, 0)
        if reserved and functions * reserved > available:
            yield (
                "reserved_concurrency",
                f"{functions} functions x {reserved} = {functions * reserved} reserved per "
                f"region, but an account limit of {limit} "
                f"(lambda.account_concurrency_quota) must keep "
                f"{LAMBDA_UNRESERVED_MIN} unreserved, leaving {available}: "
                f"reserve at most {available // functions}, or raise "
                "account_concurrency_quota once AWS has raised the region's quota",
            )


# An https URL (issuer, JWKS): no spaces, no fragment.
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$"
HttpsUrl = Annotated[str, StringConstraints(pattern=HTTPS_URL_PATTERN, max_length=1024)]
# An API key client's name and key labels: they become parts of API Gateway names.
ClientName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
KeyLabel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
KeyLabelTuple = Annotated[
    tuple[KeyLabel, ...], BeforeValidator(_array_to_tuple), Field(min_length=1, max_length=4)
]


class JwtSettings(_Section):
    """`api.auth = "jwt"`: the token issuer the Lambda authorizer trusts."""

    # The `iss` claim, exactly (an https URL, e.g. a Cognito user pool's).
    issuer: HttpsUrl | None = None
    # The `aud` claim (or a Cognito access token's `client_id`) a token must carry.
    audience: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/@-]{1,256}$")] | None = None
    # Where the signing keys are; unset: the issuer's OpenID discovery document names it.
    jwks_url: HttpsUrl | None = None
    # How long API Gateway reuses an authorizer answer for the same token (0 = every request).
    cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 300


class ApiClient(_Section):
    """`api.auth = "api_key"`: one client's usage plan and its keys."""

    rate_limit: Annotated[float, Field(gt=0, le=100000)] = 10.0
    burst_limit: Annotated[int, Field(ge=1, le=100000)] = 20
    # Requests per `quota_period`; 0 = no quota.
    quota_limit: Annotated[int, Field(ge=0, le=2000000000)] = 0
    quota_period: Literal["DAY", "WEEK", "MONTH"] = "DAY"
    # Labels (not values) of the client's keys: add one to rotate, remove one to revoke.
    keys: KeyLabelTuple = ("1",)


class ApiKeySettings(_Section):
    """`api.auth = "api_key"`: the clients, each with a usage plan."""

    clients: Annotated[dict[ClientName, ApiClient], Field(max_length=50)] = Field(
        default_factory=dict
    )


class ApiSettings(_Section):
    """API Gateway stage throttling, the WAF rules and authentication."""

    # Every method of the stage gets this budget of its own (API Gateway applies
    # stage throttling per method), except where a route sets its own below.
    throttle_rate_limit: Annotated[float, Field(gt=0, le=100000)] = 100.0
    throttle_burst_limit: Annotated[int, Field(ge=1, le=100000)] = 200
    # POST /EpochRegisterTime's own budget: every write is stored in every region.
    register_throttle_rate_limit: Annotated[float, Field(gt=0, le=100000)] = 25.0
    register_throttle_burst_limit: Annotated[int, Field(ge=1, le=100000)] = 50
    # Requests per client IP per 5 minutes before WAF blocks it (every route).
    waf_rate_limit: Annotated[int, Field(ge=100, le=2000000000)] = 2000
    # POST /EpochRegisterTime per client IP per 5 minutes: a lower limit of its own.
    waf_register_rate_limit: Annotated[int, Field(ge=100, le=2000000000)] = 300
    # Block addresses on AWS's IP reputation list (AWSManagedRulesAmazonIpReputationList).
    waf_ip_reputation_enabled: bool = True
    # WAF blocks a request whose body is larger: at most the handlers' own limit.
    waf_max_body_bytes: Annotated[int, Field(ge=2, le=contract.MAX_BODY_BYTES)] = (
        contract.MAX_BODY_BYTES
    )
    # Per-method CloudWatch metrics, priced as custom metrics for each method that
    # gets requests (the alarms and dashboards use the free stage-level ones).
    detailed_metrics_enabled: bool = True
    # Share of GET /health requests X-Ray traces (0-1); other requests keep X-Ray's
    # default sampling (1 per second plus 5%).
    health_trace_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    # none (public), jwt (Lambda authorizer over an issuer's JWKS) or api_key (usage plans).
    auth: Literal["none", "jwt", "api_key"] = "none"
    jwt: JwtSettings = Field(default_factory=JwtSettings)
    api_key: ApiKeySettings = Field(default_factory=ApiKeySettings)

    @cross_check("auth", "jwt.issuer", "jwt.audience")
    def _jwt_names_its_issuer(self) -> Iterator[Problem]:
        if self.auth == "jwt":
            for key in ("issuer", "audience"):
                if getattr(self.jwt, key) is None:
                    yield f"jwt.{key}", 'required when auth = "jwt"'

    @cross_check("api_key.clients")
    def _client_limits(self) -> Iterator[Problem]:
        for name, client in self.api_key.clients.items():
            key = f"api_key.clients.{name}"
            if client.burst_limit < client.rate_limit:
                yield (
                    f"{key}.burst_limit",
                    f"{client.burst_limit} must be at least rate_limit ({client.rate_limit:g})",
                )
            duplicates = sorted({k for k in client.keys if client.keys.count(k) > 1})
            if duplicates:
                yield f"{key}.keys", f"duplicate key label {', '.join(duplicates)}"

    @cross_check("auth", "api_key.clients")
    def _api_key_has_clients(self) -> Iterator[Problem]:
        if self.auth == "api_key" and not self.api_key.clients:
            yield (
                "api_key.clients",
                'auth = "api_key" needs at least one client, e.g. '
                "[api.api_key.clients.my-client] with rate_limit, burst_limit, quota_limit",
            )

    @cross_check("register_throttle_rate_limit", "throttle_rate_limit")
    def _register_rate_within_stage(self) -> Iterator[Problem]:
        if self.register_throttle_rate_limit > self.throttle_rate_limit:
            yield (
                "register_throttle_rate_limit",
                f"{self.register_throttle_rate_limit:g} is above throttle_rate_limit "
                f"({self.throttle_rate_limit:g}); the write route's limit is meant to be lower",
            )

    @cross_check("register_throttle_burst_limit", "throttle_burst_limit")
    def _register_burst_within_stage(self) -> Iterator[Problem]:
        if self.register_throttle_burst_limit > self.throttle_burst_limit:
            yield (
                "register_throttle_burst_limit",
                f"{self.register_throttle_burst_limit} is above throttle_burst_limit "
                f"({self.throttle_burst_limit}); the write route's limit is meant to be lower",
            )

    @cross_check("waf_register_rate_limit", "waf_rate_limit")
    def _register_waf_limit_is_lower(self) -> Iterator[Problem]:
        if self.waf_register_rate_limit > self.waf_rate_limit:
            yield (
                "waf_register_rate_limit",
                f"{self.waf_register_rate_limit} is above waf_rate_limit "
                f"({self.waf_rate_limit}), which counts POSTs too and would block first",
            )


PercentTuple = Annotated[
    tuple[Annotated[int, Field(ge=1, le=1000)], ...],
    BeforeValidator(_array_to_tuple),
    Field(min_length=1, max_length=10),
]


class BudgetSettings(_Section):
    """An AWS Budgets monthly cost budget for the account, alerting the alarm e-mail."""

    # The month's budget in USD; 0 creates no budget.
    monthly_usd: Annotated[float, Field(ge=0, le=1000000)] = 300.0
    # Alerts when the month's actual cost passes these percentages of monthly_usd.
    alert_percentages: PercentTuple = (80, 100)

    @cross_check("alert_percentages")
    def _distinct_percentages(self) -> Iterator[Problem]:
        duplicates = sorted(
            {p for p in self.alert_percentages if self.alert_percentages.count(p) > 1}
        )
        if duplicates:
            yield (
                "alert_percentages",
                f"duplicate percentage {', '.join(map(str, duplicates))}",
            )


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
    # Only jobs in this GitHub environment may assume the role; `branch` is the
    # deployment branch that environment must admit (docs/pipeline.md), not a trust.
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
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
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

    @cross_check("regions", "table.billing_mode")
    def _regions_offer_the_services(self) -> Iterator[Problem]:
        needed = dict(aws_regions.SERVICES_IN_EVERY_REGION)
        if self.table.billing_mode == "PROVISIONED":
            needed |= aws_regions.AUTOSCALING_SERVICE
        for region in self.regions:
            missing = aws_regions.missing_services(region, needed)
            if missing:
                yield (
                    "regions",
                    f"{region} has no {', '.join(missing)} endpoint in {aws_regions.SOURCE}, "
                    "and the stack needs it in every region; choose another region "
                    "(if AWS has launched it there since, update boto3)",
                )

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

    @cross_check("remote_state.state_key")
    def _state_keys_differ(self) -> Iterator[Problem]:
        if self.remote_state.state_key == bootstrap_state_key(self.app_name):
            yield (
                "remote_state.state_key",
                f"{self.remote_state.state_key} is where the remote-state stack keeps its "
                "own state; choose another key for the root stack",
            )

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


def bootstrap_state_key(app: str) -> str:
    """Where the remote-state stack keeps its own state once bootstrapped, in its bucket."""
    return f"remote-state/{app}.tfstate"


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
        self.bootstrap_state_key = bootstrap_state_key(app)
        self.traffic_policy = f"{app}-api"
        self.alarm_topic = f"{app}-alarms"
        self.dashboard_prefix = app
        self.apigateway_logs_role = f"{app}-apigateway-logs"
        self.deploy_role = f"{app}-deploy"
        # The permissions boundary of the root stack's roles ([deploy] only).
        self.app_boundary = f"{app}-app-boundary"
        self.budget = f"{app}-monthly"
        # CloudWatch namespace of the metrics this stack derives from its logs.
        self.metrics_namespace = f"{app}/api"

    def usage_plan(self, client: str) -> str:
        """An API key client's usage plan (one per region, the same name in each)."""
        return f"{self.app}-{client}"

    def api_key(self, client: str, label: str) -> str:
        return f"{self.app}-{client}-{label}"

    def function(self, function: str) -> str:
        """Lambda function name (functions are regional, so the name repeats per region)."""
        return f"{self.app}-{function}"

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{self.function(function)}"

    def health_check(self, region: str) -> str:
        return f"{self.app}-{region}"
