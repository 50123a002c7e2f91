"""The checks. Each returns one `Result` per scope (a region, a region pair, a host)
with pass/fail/skip, a one-line detail and figures."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from handlers import auth, contract
from verify.client import Answer, Client, NetworkError, describe
from verify.inputs import Target

PASS, FAIL, SKIP = "pass", "fail", "skip"
KEY_PREFIX = "verify-"
_ID = re.compile(contract.ITEM_ID_PATTERN)
REGISTER = contract.ROUTE_REGISTER.path
LIST = contract.ROUTE_LIST.path
HEALTH = contract.ROUTE_HEALTH.path
# Route 53 counts an endpoint healthy when more than 18% of its checkers do
# (Route 53 Developer Guide, "How Amazon Route 53 determines whether a health check is healthy").
ROUTE53_HEALTHY_SHARE = 0.18


@dataclass
class Result:
    check: str
    scope: str
    status: str
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    timeout: float = 10.0
    max_writes: int = 10
    key_label: str = "v1"
    replication_timeout: float = 30.0
    replication_samples: int = 1
    list_pages: int = 3
    list_limit: int = 25
    dns_lookups: int = 3
    dns_require_all: bool = False
    domain_targets: tuple[tuple[str, str], ...] = ()  # (region, custom-domain target host)
    ca_file: str | None = None
    # Headers that authenticate (EPOCH_API_TOKEN / EPOCH_API_KEY); empty for a public API.
    credentials: tuple[tuple[str, str], ...] = ()


class WriteBudget:
    """At most `limit` POSTs that may store something, over the whole run (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True


def writes_needed(regions: int, options: Options) -> int:
    """Registrations one run sends: each region's replication samples, two idempotent POSTs."""
    return regions * options.replication_samples + 2


class Run:
    """Shared state of one verify run: target, clients per region, options, write budget."""

    def __init__(self, target: Target, options: Options) -> None:
        self.target = target
        self.options = options
        self.budget = WriteBudget(options.max_writes)
        self.ssl_context = ssl.create_default_context()
        if options.ca_file is not None:  # trusted in addition to the system's CAs
            self.ssl_context.load_verify_locations(cafile=options.ca_file)
        self.clients = {
            region: Client(
                url,
                timeout=options.timeout,
                ssl_context=self.ssl_context,
                credentials=dict(options.credentials),
            )
            for region, url in target.endpoints.items()
        }
        self.regions = list(target.endpoints)
        # Set on Ctrl-C: background polls end at once instead of at their timeouts.
        self.stopping = threading.Event()

    def key(self, *parts: str) -> str:
        return "-".join((KEY_PREFIX + self.options.key_label, *parts))

    def register(self, region: str, key: str) -> Answer:
        if not self.budget.take():
            raise NetworkError(f"write budget of {self.budget.limit} used up (--max-writes)")
        return self.clients[region].post_json(REGISTER, headers={contract.IDEMPOTENCY_HEADER: key})


def _registration(answer: Answer) -> dict[str, Any] | None:
    body = answer.json()
    if not isinstance(body, dict):
        return None
    if not isinstance(body.get("id"), str) or not _ID.fullmatch(body["id"]):
        return None
    if not isinstance(body.get("epoch_ms"), int) or not isinstance(body.get("region"), str):
        return None
    return body


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# --- /health -------------------------------------------------------------------


def check_health(run: Run) -> list[Result]:
    results = []
    for region, client in run.clients.items():
        try:
            answer = client.get(HEALTH)
        except NetworkError as exc:
            results.append(Result("health", region, FAIL, str(exc)))
            continue
        body = answer.json()
        named = body.get("region") if isinstance(body, dict) else None
        figures = {"status": answer.status, "ms": _ms(answer.seconds), "region": named}
        if answer.status != 200:
            reason = ""
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                reason = f" ({body['error'].get('message')})"
            results.append(
                Result("health", region, FAIL, f"answered {answer.status}{reason}", figures)
            )
        elif not isinstance(body, dict) or body.get("status") != "ok":
            results.append(Result("health", region, FAIL, "200 without {status: ok}", figures))
        elif named != region:
            results.append(Result("health", region, FAIL, f"answers as region {named!r}", figures))
        else:
            results.append(Result("health", region, PASS, "200 ok, names its region", figures))
    if run.target.api_url is not None:
        results.append(_api_health(run, run.target.api_url))
    return results


def _api_health(run: Run, api_url: str) -> Result:
    client = Client(api_url, timeout=run.options.timeout, ssl_context=run.ssl_context)
    try:
        answer = client.get(HEALTH)
    except NetworkError as exc:
        return Result("health", "api", FAIL, str(exc))
    body = answer.json()
    named = body.get("region") if isinstance(body, dict) else None
    figures = {"status": answer.status, "ms": _ms(answer.seconds), "region": named}
    if answer.status == 200 and named in run.regions:
        return Result("health", "api", PASS, f"200 ok, served by {named}", figures)
    return Result("health", "api", FAIL, f"answered {answer.status} from region {named!r}", figures)


# --- replication -----------------------------------------------------------------


def _poll_readable(
    client: Client, item_id: str, since: float, timeout: float, stop: threading.Event
) -> tuple[float | None, dict[str, Any] | None, str]:
    """Poll GET /getEpoch/{id} until 200 or `stop`: (lag in s, the item, last reason)."""
    path = contract.ROUTE_GET_ONE.path.replace("{id}", item_id)
    deadline = since + timeout
    interval = 0.05
    reason = "not polled"
    while True:
        try:
            answer = client.get(path)
            if answer.status == 200:
                return time.perf_counter() - since, _registration(answer), ""
            reason = f"last answer {answer.status}"
        except NetworkError as exc:
            reason = str(exc)
        if time.perf_counter() + interval > deadline or stop.wait(interval):
            return None, None, reason
        interval = min(interval * 1.5, 0.5)


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """On Ctrl-C, tell the polls to end: the pool's exit waits for them."""
    try:
        yield
    except KeyboardInterrupt:
        stop.set()
        raise


def check_replication(run: Run) -> list[Result]:
    if len(run.regions) < 2:
        return [Result("replication", "-", SKIP, "one region: nothing to replicate to")]
    lags: dict[tuple[str, str], list[float]] = {
        (a, b): [] for a in run.regions for b in run.regions if a != b
    }
    problems: dict[tuple[str, str], list[str]] = {pair: [] for pair in lags}
    reused: dict[tuple[str, str], int] = dict.fromkeys(lags, 0)
    write_problems: list[Result] = []
    with (
        ThreadPoolExecutor(max_workers=max(1, len(run.regions) - 1)) as pool,
        _stop_on_interrupt(run.stopping),
    ):
        for source in run.regions:
            for sample in range(run.options.replication_samples):
                key = run.key("repl", source, str(sample))
                try:
                    answer = run.register(source, key)
                except NetworkError as exc:
                    write_problems.append(Result("replication", source, FAIL, str(exc)))
                    continue
                written = time.perf_counter()
                item = _registration(answer)
                if answer.status not in (200, 201) or item is None:
                    write_problems.append(
                        Result(
                            "replication",
                            source,
                            FAIL,
                            f"POST answered {answer.status} without a registration",
                        )
                    )
                    continue
                fresh = answer.status == 201
                others = [r for r in run.regions if r != source]
                polls = {
                    other: pool.submit(
                        _poll_readable,
                        run.clients[other],
                        item["id"],
                        written,
                        run.options.replication_timeout,
                        run.stopping,
                    )
                    for other in others
                }
                for other, future in polls.items():
                    lag, seen, reason = future.result()
                    pair = (source, other)
                    if lag is None:
                        problems[pair].append(
                            f"{item['id']} not readable after "
                            f"{run.options.replication_timeout:g} s ({reason})"
                        )
                    elif seen is None or seen["epoch_ms"] != item["epoch_ms"]:
                        problems[pair].append(f"{item['id']} reads back different")
                    elif fresh:
                        lags[pair].append(lag)
                    else:
                        reused[pair] += 1
    results = list(write_problems)
    for (source, other), samples in lags.items():
        scope = f"{source} -> {other}"
        figures: dict[str, Any] = {"fresh": len(samples), "reused": reused[(source, other)]}
        if samples:
            figures.update(
                lag_ms_min=_ms(min(samples)),
                lag_ms_median=_ms(statistics.median(samples)),
                lag_ms_max=_ms(max(samples)),
            )
        if problems[(source, other)]:
            results.append(
                Result("replication", scope, FAIL, problems[(source, other)][0], figures)
            )
        elif not samples and not reused[(source, other)]:
            results.append(
                Result("replication", scope, FAIL, "no registration reached it", figures)
            )
        elif samples:
            results.append(
                Result(
                    "replication",
                    scope,
                    PASS,
                    f"readable after {figures['lag_ms_median']} ms (median)",
                    figures,
                )
            )
        else:
            results.append(
                Result(
                    "replication",
                    scope,
                    PASS,
                    "readable (entries from an earlier run: no lag measured; "
                    "--key-label for fresh ones)",
                    figures,
                )
            )
    return results


# --- idempotency -----------------------------------------------------------------


def check_idempotency(run: Run) -> list[Result]:
    first_region = run.regions[0]
    second_region = run.regions[1] if len(run.regions) > 1 else first_region
    scope = f"{first_region} then {second_region}"
    key = run.key("idem")
    try:
        first = run.register(first_region, key)
        one = _registration(first)
        if first.status not in (200, 201) or one is None:
            return [Result("idempotency", scope, FAIL, f"first POST answered {first.status}")]
        lag, _seen, reason = _poll_readable(
            run.clients[second_region],
            one["id"],
            time.perf_counter(),
            run.options.replication_timeout,
            run.stopping,
        )
        if lag is None:
            return [
                Result("idempotency", scope, FAIL, f"first registration not replicated ({reason})")
            ]
        second = run.register(second_region, key)
    except NetworkError as exc:
        return [Result("idempotency", scope, FAIL, str(exc))]
    two = _registration(second)
    figures = {
        "first_status": first.status,
        "second_status": second.status,
        "id": one["id"],
        "same_id": two is not None and two["id"] == one["id"],
    }
    if two is None or second.status != 200:
        return [
            Result("idempotency", scope, FAIL, f"repeat answered {second.status}, not 200", figures)
        ]
    if two["id"] != one["id"] or two["epoch_ms"] != one["epoch_ms"]:
        return [Result("idempotency", scope, FAIL, "repeat answered another registration", figures)]
    return [Result("idempotency", scope, PASS, "one id, the repeat answers 200 with it", figures)]


# --- list walk -------------------------------------------------------------------


def check_list(run: Run) -> list[Result]:
    results = []
    for region, client in run.clients.items():
        results.append(_walk(region, client, run.options))
    return results


def _walk(region: str, client: Client, options: Options) -> Result:
    seen: set[str] = set()
    previous: tuple[int, str] | None = None
    cursor: str | None = None
    pages = items = 0
    for _page in range(options.list_pages):
        query = f"?limit={options.list_limit}" + (f"&cursor={cursor}" if cursor else "")
        try:
            answer = client.get(LIST + query)
        except NetworkError as exc:
            return Result("list", region, FAIL, str(exc))
        body = answer.json()
        figures = {"pages": pages, "items": items}
        if answer.status != 200 or not isinstance(body, dict):
            return Result(
                "list", region, FAIL, f"page {pages + 1} answered {answer.status}", figures
            )
        page_items, cursor = body.get("items"), body.get("next")
        if not isinstance(page_items, list) or not (cursor is None or isinstance(cursor, str)):
            return Result("list", region, FAIL, f"page {pages + 1}: not a page of items", figures)
        pages += 1
        for item in page_items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                return Result("list", region, FAIL, f"page {pages}: malformed item", figures)
            order = (item.get("epoch_ms"), item["id"])
            if not isinstance(order[0], int):
                return Result("list", region, FAIL, f"page {pages}: item without epoch_ms", figures)
            if item["id"] in seen:
                return Result("list", region, FAIL, f"page {pages}: {item['id']} repeated", figures)
            if previous is not None and order >= previous:
                return Result(
                    "list",
                    region,
                    FAIL,
                    f"page {pages}: {item['id']} is not older than the one before",
                    figures,
                )
            seen.add(item["id"])
            previous = (order[0], order[1])
            items += 1
        if cursor is None:
            break
    figures = {"pages": pages, "items": items}
    return Result("list", region, PASS, "newest first, no repeats", figures)


# --- error contract --------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    name: str
    method: str
    path: str
    status: int
    code: str
    body: bytes | None = None
    content_type: str | None = None
    # Sent without the run's credentials.
    anonymous: bool = False


# Only when the run has credentials (the API has authentication on): the same
# request without them is refused in the contract's shape, and stores nothing.
UNAUTHENTICATED_CASE = ErrorCase(
    "401",
    "POST",
    REGISTER,
    401,
    auth.ERROR_UNAUTHORIZED,
    body=b"{}",
    content_type="application/json",
    anonymous=True,
)


ERROR_CASES: tuple[ErrorCase, ...] = (
    ErrorCase("404", "GET", "/verify-no-such-route", 404, contract.ERROR_NOT_FOUND),
    ErrorCase("405", "DELETE", HEALTH, 405, contract.ERROR_METHOD_NOT_ALLOWED),
    ErrorCase("400", "GET", f"{LIST}?limit=0", 400, contract.ERROR_INVALID_PARAMETER),
    ErrorCase(
        "413",
        "POST",
        REGISTER,
        413,
        contract.ERROR_TOO_LARGE,
        body=b'{"pad":"' + b"x" * (2 * contract.MAX_BODY_BYTES) + b'"}',
        content_type="application/json",
    ),
    ErrorCase(
        "415",
        "POST",
        REGISTER,
        415,
        contract.ERROR_UNSUPPORTED_MEDIA_TYPE,
        body=b"{}",
        content_type="text/plain",
    ),
)


def error_shape_problem(case: ErrorCase, answer: Answer) -> str | None:
    """What is wrong with an error answer, or None: the documented shape is
    {"error": {"code": <code>, "message": <text>}} as application/json (openapi.json)."""
    if answer.status != case.status:
        return f"{case.name}: answered {answer.status}"
    if answer.content_type != "application/json":
        return f"{case.name}: Content-Type {answer.content_type or 'missing'}"
    body = answer.json()
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f'{case.name}: body is not {{"error": {{...}}}}'
    detail = body["error"]
    if set(detail) != {"code", "message"}:
        return f"{case.name}: error has fields {sorted(detail)}, not code and message"
    if detail["code"] != case.code:
        return f"{case.name}: code {detail['code']!r}, not {case.code!r}"
    if not isinstance(detail["message"], str) or not detail["message"]:
        return f"{case.name}: empty message"
    if case.status == 405:
        allow = answer.headers.get("allow")
        if not allow:
            return "405: no Allow header"
        if "GET" not in [m.strip() for m in allow.split(",")]:
            return f"405: Allow {allow!r} does not list GET"
    return None


def check_errors(run: Run) -> list[Result]:
    results = []
    for region, client in run.clients.items():
        statuses: dict[str, int] = {}
        problems: list[str] = []
        cases = ERROR_CASES + ((UNAUTHENTICATED_CASE,) if run.options.credentials else ())
        for case in cases:
            headers = {"Content-Type": case.content_type} if case.content_type else {}
            try:
                answer = client.request(
                    case.method,
                    case.path,
                    body=case.body,
                    headers=headers,
                    anonymous=case.anonymous,
                )
            except NetworkError as exc:
                problems.append(f"{case.name}: {exc}")
                continue
            statuses[case.name] = answer.status
            problem = error_shape_problem(case, answer)
            if problem:
                problems.append(problem)
        if problems:
            results.append(Result("errors", region, FAIL, "; ".join(problems), statuses))
        else:
            results.append(
                Result(
                    "errors",
                    region,
                    PASS,
                    f"{' '.join(case.name for case in cases)} in the documented shape",
                    statuses,
                )
            )
    return results


# --- TLS -------------------------------------------------------------------------


def _https_hosts(run: Run) -> list[tuple[str, int]]:
    urls = ([run.target.api_url] if run.target.api_url else []) + list(
        run.target.endpoints.values()
    )
    hosts: list[tuple[str, int]] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            entry = (parts.hostname, parts.port or 443)
            if entry not in hosts:
                hosts.append(entry)
    return hosts


def check_tls(run: Run) -> list[Result]:
    hosts = _https_hosts(run)
    if not hosts:
        return [Result("tls", "-", SKIP, "no https URL (http has no certificate or TLS to check)")]
    results = []
    for host, port in hosts:
        scope = f"{host}:{port}"
        results.append(_certificate(scope, host, port, run))
        if _is_default_execute_api(host):
            results.append(
                Result(
                    "tls-legacy",
                    scope,
                    SKIP,
                    "a regional API's default execute-api endpoint uses AWS's TLS_1_0 "
                    "policy and cannot be changed; the custom domain (api URL) is checked",
                )
            )
        else:
            results.append(_legacy_refused(scope, host, port, run.options.timeout))
    return results


def _is_default_execute_api(host: str) -> bool:
    """`<id>.execute-api.<region>.amazonaws.com`: API Gateway applies security policy
    TLS_1_0 to default endpoints of regional APIs; only custom domains take TLS_1_2
    (API Gateway Developer Guide, "Choose a security policy for your REST API custom
    domain")."""
    labels = host.lower().split(".")
    return len(labels) == 5 and labels[1] == "execute-api" and labels[3:] == ["amazonaws", "com"]


def _certificate(scope: str, host: str, port: int, run: Run) -> Result:
    try:
        with (
            socket.create_connection((host, port), timeout=run.options.timeout) as raw,
            run.ssl_context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert() or {}
            version = tls.version()
    except OSError as exc:
        return Result("tls-certificate", scope, FAIL, describe(exc))
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), tz=UTC)
    days = (expires - datetime.now(tz=UTC)).days
    figures = {"protocol": version, "expires": expires.date().isoformat(), "days_left": days}
    return Result("tls-certificate", scope, PASS, f"valid for {host}, {days} days left", figures)


def _legacy_refused(scope: str, host: str, port: int, timeout: float) -> Result:
    if not (ssl.HAS_TLSv1 or ssl.HAS_TLSv1_1):
        return Result("tls-legacy", scope, SKIP, "this Python's OpenSSL cannot offer TLS 1.0/1.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        # Offering the deprecated versions is the point of this probe.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        # OpenSSL 3 disables TLS < 1.2 at its default security level: allow it to offer them.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as exc:
        return Result("tls-legacy", scope, SKIP, f"cannot offer TLS 1.0/1.1 here: {exc}")
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            accepted = tls.version()
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc)
        if "NO_PROTOCOLS_AVAILABLE" in reason.upper() or "NO PROTOCOLS" in reason.upper():
            return Result(
                "tls-legacy", scope, SKIP, f"this OpenSSL refuses to offer TLS <= 1.1 ({reason})"
            )
        return Result("tls-legacy", scope, PASS, f"TLS 1.0/1.1 refused ({reason})")
    except OSError as exc:
        return Result("tls-legacy", scope, FAIL, describe(exc))
    return Result("tls-legacy", scope, FAIL, f"accepted {accepted}", {"protocol": accepted})


# --- DNS -------------------------------------------------------------------------

Resolver = Callable[[str], tuple[str, list[str], list[str]]]


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def attribute(names: Sequence[str], regions: Sequence[str]) -> str | None:
    """The region a resolved name chain points into (d-….execute-api.<region>.amazonaws.com)."""
    for name in names:
        labels = name.lower().rstrip(".").split(".")
        for region in regions:
            if region in labels:
                return region
    return None


def check_dns(
    run: Run,
    resolve: Resolver = socket.gethostbyname_ex,
    targets: dict[str, set[str]] | None = None,
    pause: float = 1.0,
) -> list[Result]:
    """api.<domain> resolves, each answer to one of the regional targets.

    An answer is attributed to a region by its CNAME chain (traffic policy: a
    CNAME to the regional custom domain) or, for alias records, by its
    addresses matching a region's target addresses (`targets`, region -> IPs).
    """
    if run.target.api_url is None:
        return [Result("dns", "-", SKIP, "no API URL given (--api-url or output api_url)")]
    host = urlsplit(run.target.api_url).hostname or ""
    if _is_local(host):
        return [Result("dns", host, SKIP, "loopback or IP URL: no api.<domain> name to resolve")]
    if targets is None and run.options.domain_targets:
        targets = resolve_targets(dict(run.options.domain_targets), resolve)
    seen: dict[str, int] = {}
    unattributed: list[str] = []
    for attempt in range(run.options.dns_lookups):
        if attempt:
            time.sleep(pause)
        try:
            canonical, aliases, addresses = resolve(host)
        except OSError as exc:
            return [Result("dns", host, FAIL, f"does not resolve: {describe(exc)}")]
        region = attribute([canonical, *aliases], run.regions)
        if region is None and targets:
            region = next((r for r, ips in targets.items() if ips & set(addresses)), None)
        if region is None:
            unattributed.append(",".join(sorted(addresses)))
        else:
            seen[region] = seen.get(region, 0) + 1
    figures: dict[str, Any] = {"lookups": run.options.dns_lookups, "regions_seen": seen}
    if unattributed and (seen or targets):
        return [
            Result("dns", host, FAIL, f"answer {unattributed[0]} is no regional target", figures)
        ]
    if unattributed:
        figures["addresses"] = sorted(set(unattributed))
        return [
            Result(
                "dns",
                host,
                PASS,
                "resolves; answers cannot be attributed to regions (alias records): "
                "give --domain-target or AWS credentials",
                figures,
            )
        ]
    missing = [r for r in run.regions if r not in seen]
    if missing and run.options.dns_require_all:
        return [Result("dns", host, FAIL, f"never answered {', '.join(missing)}", figures)]
    note = (
        f" ({', '.join(missing)} not seen: resolver caching or latency routing)" if missing else ""
    )
    return [Result("dns", host, PASS, f"answers point at regional targets{note}", figures)]


def resolve_targets(
    hosts: dict[str, str], resolve: Resolver = socket.gethostbyname_ex
) -> dict[str, set[str]]:
    """Region -> addresses of its custom-domain target host (unresolvable ones left out)."""
    out: dict[str, set[str]] = {}
    for region, host in hosts.items():
        try:
            out[region] = set(resolve(host)[2])
        except OSError:
            continue
    return out


# --- Route 53 health checks --------------------------------------------------------


def route53_verdict(observations: Sequence[dict[str, Any]]) -> tuple[bool, int, int]:
    """(healthy?, healthy checkers, all checkers) from GetHealthCheckStatus observations:
    Route 53 counts the endpoint healthy when more than 18% of its checkers do."""
    statuses = [str(o.get("StatusReport", {}).get("Status", "")) for o in observations]
    healthy = sum(1 for s in statuses if s.startswith("Success"))
    total = len(statuses)
    return bool(total) and healthy / total > ROUTE53_HEALTHY_SHARE, healthy, total


def check_route53(run: Run, session: Any | None = None) -> list[Result]:
    ids = run.target.health_check_ids
    if not ids:
        return [Result("route53", "-", SKIP, "no health check ids (outputs or --health-check)")]
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.Session()
    if session.get_credentials() is None:
        return [Result("route53", "-", SKIP, "no AWS credentials: Route 53 status not read")]
    client = session.client("route53", region_name="us-east-1")
    results = []
    for region, check_id in ids.items():
        try:
            observations = client.get_health_check_status(HealthCheckId=check_id)[
                "HealthCheckObservations"
            ]
        except (BotoCoreError, ClientError) as exc:
            results.append(
                Result("route53", region, FAIL, f"{check_id}: {str(exc).splitlines()[0]}")
            )
            continue
        is_healthy, healthy, total = route53_verdict(observations)
        figures = {"health_check_id": check_id, "healthy_checkers": healthy, "checkers": total}
        if is_healthy:
            results.append(
                Result("route53", region, PASS, f"healthy ({healthy}/{total} checkers)", figures)
            )
        else:
            results.append(
                Result("route53", region, FAIL, f"unhealthy ({healthy}/{total} checkers)", figures)
            )
    return results


CHECKS: dict[str, Callable[[Run], list[Result]]] = {
    "health": check_health,
    "replication": check_replication,
    "idempotency": check_idempotency,
    "list": check_list,
    "errors": check_errors,
    "tls": check_tls,
    "dns": check_dns,
    "route53": check_route53,
}
