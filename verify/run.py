"""One verify run: its options, clients per region, write budget, and what a check returns."""

from __future__ import annotations

import re
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from handlers import contract
from verify.client import Answer, Client, NetworkError
from verify.inputs import Target

PASS, FAIL, SKIP = "pass", "fail", "skip"
KEY_PREFIX = "verify-"
_ID = re.compile(contract.ITEM_ID_PATTERN)
REGISTER = contract.ROUTE_REGISTER.path
LIST = contract.ROUTE_LIST.path
HEALTH = contract.ROUTE_HEALTH.path


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


def registration(answer: Answer) -> dict[str, Any] | None:
    body = answer.json()
    if not isinstance(body, dict):
        return None
    if not isinstance(body.get("id"), str) or not _ID.fullmatch(body["id"]):
        return None
    if not isinstance(body.get("epoch_ms"), int) or not isinstance(body.get("region"), str):
        return None
    return body


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
