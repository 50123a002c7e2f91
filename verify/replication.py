"""The checks that write: replication between every pair of regions, and idempotency across
regions (one registration under one key, wherever it is sent)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from handlers import contract
from verify.client import Client, NetworkError
from verify.run import FAIL, PASS, SKIP, Result, Run, ms, registration

# What a poll of one region found: (lag in s or None, the item read, the last reason).
Polled = tuple[float | None, dict[str, Any] | None, str]


def _poll_readable(
    client: Client, item_id: str, since: float, timeout: float, stop: threading.Event
) -> Polled:
    """Poll GET /getEpoch/{id} until 200 or `stop`: (lag in s, the item, last reason)."""
    path = contract.ROUTE_GET_ONE.path.replace("{id}", item_id)
    deadline = since + timeout
    interval = 0.05
    reason = "not polled"
    while True:
        try:
            answer = client.get(path)
            if answer.status == 200:
                return time.perf_counter() - since, registration(answer), ""
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


@dataclass
class _Pair:
    """What one source -> other region pair saw over the run's samples."""

    lags: list[float] = field(default_factory=list)  # of registrations this run made
    problems: list[str] = field(default_factory=list)
    reused: int = 0  # registrations of an earlier run under the same key

    def record(self, polled: Polled, item: dict[str, Any], fresh: bool, timeout: float) -> None:
        lag, seen, reason = polled
        if lag is None:
            self.problems.append(f"{item['id']} not readable after {timeout:g} s ({reason})")
        elif seen is None or seen["epoch_ms"] != item["epoch_ms"]:
            self.problems.append(f"{item['id']} reads back different")
        elif fresh:
            self.lags.append(lag)
        else:
            self.reused += 1

    def result(self, scope: str) -> Result:
        figures: dict[str, Any] = {"fresh": len(self.lags), "reused": self.reused}
        if self.lags:
            figures.update(
                lag_ms_min=ms(min(self.lags)),
                lag_ms_median=ms(statistics.median(self.lags)),
                lag_ms_max=ms(max(self.lags)),
            )
        if self.problems:
            return Result("replication", scope, FAIL, self.problems[0], figures)
        if self.lags:
            detail = f"readable after {figures['lag_ms_median']} ms (median)"
            return Result("replication", scope, PASS, detail, figures)
        if not self.reused:
            return Result("replication", scope, FAIL, "no registration reached it", figures)
        detail = (
            "readable (entries from an earlier run: no lag measured; --key-label for fresh ones)"
        )
        return Result("replication", scope, PASS, detail, figures)


def check_replication(run: Run) -> list[Result]:
    if len(run.regions) < 2:
        return [Result("replication", "-", SKIP, "one region: nothing to replicate to")]
    pairs = {(a, b): _Pair() for a in run.regions for b in run.regions if a != b}
    write_problems: list[Result] = []
    with (
        ThreadPoolExecutor(max_workers=max(1, len(run.regions) - 1)) as pool,
        _stop_on_interrupt(run.stopping),
    ):
        for source in run.regions:
            for sample in range(run.options.replication_samples):
                problem = _sample(run, pool, source, sample, pairs)
                if problem is not None:
                    write_problems.append(problem)
    return write_problems + [
        pair.result(f"{source} -> {other}") for (source, other), pair in pairs.items()
    ]


def _sample(
    run: Run,
    pool: ThreadPoolExecutor,
    source: str,
    sample: int,
    pairs: dict[tuple[str, str], _Pair],
) -> Result | None:
    """Register once in `source`, poll every other region for it; a Result if the write failed."""
    try:
        answer = run.register(source, run.key("repl", source, str(sample)))
    except NetworkError as exc:
        return Result("replication", source, FAIL, str(exc))
    written = time.perf_counter()
    item = registration(answer)
    if answer.status not in (200, 201) or item is None:
        detail = f"POST answered {answer.status} without a registration"
        return Result("replication", source, FAIL, detail)
    polls: dict[str, Future[Polled]] = {
        other: pool.submit(
            _poll_readable,
            run.clients[other],
            item["id"],
            written,
            run.options.replication_timeout,
            run.stopping,
        )
        for other in run.regions
        if other != source
    }
    for other, future in polls.items():
        pairs[(source, other)].record(
            future.result(), item, answer.status == 201, run.options.replication_timeout
        )
    return None


def check_idempotency(run: Run) -> list[Result]:
    first_region = run.regions[0]
    second_region = run.regions[1] if len(run.regions) > 1 else first_region
    scope = f"{first_region} then {second_region}"
    key = run.key("idem")
    try:
        first = run.register(first_region, key)
        one = registration(first)
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
    two = registration(second)
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
