"""The DNS check: api.<domain> resolves, each answer to one of the regional targets."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from verify.client import describe
from verify.run import FAIL, PASS, SKIP, Result, Run

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


@dataclass
class _Lookups:
    """What the lookups of one host answered: regions seen, answers no region claims."""

    seen: dict[str, int] = field(default_factory=dict)
    unattributed: list[str] = field(default_factory=list)

    def add(self, region: str | None, addresses: list[str]) -> None:
        if region is None:
            self.unattributed.append(",".join(sorted(addresses)))
        else:
            self.seen[region] = self.seen.get(region, 0) + 1


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
    lookups = _Lookups()
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
        lookups.add(region, addresses)
    return [_verdict(run, host, lookups, bool(targets))]


def _verdict(run: Run, host: str, lookups: _Lookups, have_targets: bool) -> Result:
    seen, unattributed = lookups.seen, lookups.unattributed
    figures: dict[str, Any] = {"lookups": run.options.dns_lookups, "regions_seen": seen}
    if unattributed and (seen or have_targets):
        return Result("dns", host, FAIL, f"answer {unattributed[0]} is no regional target", figures)
    if unattributed:
        figures["addresses"] = sorted(set(unattributed))
        detail = (
            "resolves; answers cannot be attributed to regions (alias records): "
            "give --domain-target or AWS credentials"
        )
        return Result("dns", host, PASS, detail, figures)
    missing = [r for r in run.regions if r not in seen]
    if missing and run.options.dns_require_all:
        return Result("dns", host, FAIL, f"never answered {', '.join(missing)}", figures)
    note = (
        f" ({', '.join(missing)} not seen: resolver caching or latency routing)" if missing else ""
    )
    return Result("dns", host, PASS, f"answers point at regional targets{note}", figures)


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
