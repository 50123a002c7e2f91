"""The synthetic check of one region: verify's checks against the region's own endpoint."""

from __future__ import annotations

from verify.checks import check_errors, check_health, check_list
from verify.client import NetworkError
from verify.inputs import Target
from verify.replication import check_idempotency
from verify.run import FAIL, Options, Result, Run

TIMEOUT_SECONDS = 10.0
# The idempotency check stores one registration per region under a fixed `verify-` key:
# every bake re-sends the same key, so a rollout adds one item per region, ever.
KEY_LABEL = "rollout"


def check_region(region: str, endpoint: str) -> str | None:
    """What failed (one line), or None when health, list, errors and idempotency all pass."""
    target = Target(api_url=None, endpoints={region: endpoint})
    options = Options(
        timeout=TIMEOUT_SECONDS,
        max_writes=2,
        key_label=f"{KEY_LABEL}-{region}",
        replication_timeout=TIMEOUT_SECONDS,
        list_pages=1,
        list_limit=10,
    )
    run = Run(target, options)
    results: list[Result] = []
    try:
        for check in (check_health, check_list, check_errors, check_idempotency):
            results.extend(check(run))
    except NetworkError as exc:  # the write budget; the checks report network errors themselves
        return f"synthetic check: {exc}"
    failed = [r for r in results if r.status == FAIL]
    if not failed:
        return None
    return "synthetic check failed: " + "; ".join(f"{r.check}: {r.detail}" for r in failed)
