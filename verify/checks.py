"""The checks. Each returns one `Result` per scope (a region, a region pair, a host)
with pass/fail/skip, a one-line detail and figures.

Here: health, the list walk, the error contract, Route 53's health checks, and
CHECKS, every check by name; the others live in verify/replication.py
(replication, idempotency), verify/tls.py and verify/dns.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from handlers import auth, contract
from verify.client import Answer, Client, NetworkError
from verify.dns import check_dns
from verify.replication import check_idempotency, check_replication
from verify.run import FAIL, HEALTH, LIST, PASS, REGISTER, SKIP, Options, Result, Run, ms
from verify.tls import check_tls

# Route 53 counts an endpoint healthy when more than 18% of its checkers do
# (Route 53 Developer Guide, "How Amazon Route 53 determines whether a health check is healthy").
ROUTE53_HEALTHY_SHARE = 0.18


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
        figures = {"status": answer.status, "ms": ms(answer.seconds), "region": named}
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
    figures = {"status": answer.status, "ms": ms(answer.seconds), "region": named}
    if answer.status == 200 and named in run.regions:
        return Result("health", "api", PASS, f"200 ok, served by {named}", figures)
    return Result("health", "api", FAIL, f"answered {answer.status} from region {named!r}", figures)


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
