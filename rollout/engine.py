"""The rollout: region after region, step after step, bake, and roll back on a bad bake.

State lives in AWS only (each alias's version, weights and description record), so a
rollout interrupted anywhere resumes from what the aliases say.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from rollout.aws import BAKED, BAKING, ROLLED_BACK, AliasState, AwsError, Record, RegionAws
from rollout.plan import FunctionTarget, Plan, RegionPlan

# How long Lambda may take to make provisioned concurrency READY after the alias moved.
WARM_TIMEOUT_SECONDS = 900.0
ALARM = "ALARM"
NO_DATA = "INSUFFICIENT_DATA"

Check = Callable[[str, str], str | None]  # (region, endpoint) -> failure or None


class RolloutFailedError(Exception):
    """A bake failed and the rollout was rolled back; the message is the one line to show."""


@dataclass(frozen=True)
class Event:
    """What happened, for progress and for the rehearsal's timeline."""

    kind: str  # start-region, shift, bake-start, bake-ok, region-done, failed, rolled-back
    region: str
    seconds: float  # since the rollout started
    step: int | None = None
    share: int | None = None
    detail: str = ""


@dataclass
class Pending:
    function: FunctionTarget
    previous: str
    start: int  # first step index to (re)do


@dataclass
class Engine:
    plan: Plan
    aws: Callable[[str], RegionAws]
    check: Check | None
    log: Callable[[str], None] = print
    on_event: Callable[[Event], None] = lambda event: None
    bake_seconds: float | None = None  # overrides the plan's (rehearsals, tests)
    endpoints: dict[str, str] = field(default_factory=dict)  # synthetic-check overrides
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    where: str = "before the first region"
    _started: float = 0.0
    _clients: dict[str, RegionAws] = field(default_factory=dict)

    # -- plumbing --------------------------------------------------------------

    def client(self, region: str) -> RegionAws:
        if region not in self._clients:
            self._clients[region] = self.aws(region)
        return self._clients[region]

    def emit(self, kind: str, region: str, **kwargs: Any) -> None:
        self.on_event(Event(kind, region, round(self.clock() - self._started, 2), **kwargs))

    @property
    def bake(self) -> float:
        return self.plan.bake_seconds if self.bake_seconds is None else self.bake_seconds

    def states(self, region: RegionPlan) -> dict[str, AliasState]:
        aws = self.client(region.region)
        return {f.logical: aws.alias(f.name, region.alias) for f in region.functions}

    # -- what is pending -------------------------------------------------------

    def pending(self, region: RegionPlan, states: dict[str, AliasState]) -> list[Pending]:
        found = []
        last = len(self.plan.shares) - 1
        for function in region.functions:
            state, target = states[function.logical], function.version
            record = state.record
            ours = record is not None and record.target == target
            if state.primary == target and not state.weights:
                if ours and record is not None and record.status == BAKING:
                    found.append(Pending(function, record.previous, last))  # its last bake
                continue
            if ours and record is not None:
                previous = record.previous
            elif state.primary == target:  # split by hand towards another version
                previous = next(iter(state.weights))
            else:
                previous = state.primary
            share = state.share_of(target) if state.primary != target else 0.0
            start = max(
                (i for i, s in enumerate(self.plan.shares) if s <= round(share) and share > 0),
                default=0,
            )
            found.append(Pending(function, previous, start))
        return found

    # -- the rollout -----------------------------------------------------------

    def run(self) -> int:
        """Roll out every region in order; RolloutFailedError after a rollback."""
        self._started = self.clock()
        todo: list[tuple[RegionPlan, list[Pending]]] = []
        for region in self.plan.regions:
            pending = self.pending(region, self.states(region))
            if pending:
                todo.append((region, pending))
        if not todo:
            return 0
        shares = " → ".join(f"{s} %" for s in self.plan.shares)
        per_region = self.bake * len(self.plan.shares)
        self.log(
            f"rollout: {', '.join(r.region for r, _ in todo)} in that order; steps {shares}, "
            f"bake {_duration(self.bake)} each (about {_duration(per_region)} per region, "
            f"{_duration(per_region * len(todo))} in all)"
        )
        for region, pending in todo:
            self.roll_region(region, pending)
        self.log(
            f"rollout done: {len(todo)} region(s) on the new versions "
            f"in {_duration(self.clock() - self._started)}"
        )
        return len(todo)

    def roll_region(self, region: RegionPlan, pending: list[Pending]) -> None:
        name = region.region
        aws = self.client(name)
        self.where = f"{name} before its first step"
        moves = ", ".join(
            f"{p.function.logical} {p.previous}→{p.function.version}" for p in pending
        )
        self.log(f"[{name}] {moves}")
        self.emit("start-region", name, detail=moves)
        # An alarm already firing is no verdict on the new code: stop before moving anything.
        states = aws.alarm_states(region.alarms)
        missing = [a for a in region.alarms if a not in states]
        if missing:
            raise AwsError(f"{name}: alarm {missing[0]} not found (apply the stack first)")
        firing = [a for a in region.alarms if states[a] == ALARM]
        if firing:
            raise RolloutFailedError(
                f"rollout stopped: {name}: alarm {firing[0]} is in ALARM before the rollout "
                f"reached it; nothing in {name} moved (fix it, then run again to resume)"
            )
        steps = len(self.plan.shares)
        for index in range(min(p.start for p in pending), steps):
            share = self.plan.shares[index]
            label = f"step {index + 1}/{steps} ({share} %)"
            with _deferred_interrupt():
                for p in pending:
                    if index < p.start:
                        continue
                    target = p.function.version
                    record = Record(p.previous, target, BAKING)
                    if share >= 100:
                        aws.set_alias(
                            p.function.name, region.alias, primary=target, weights={}, record=record
                        )
                    else:
                        aws.set_alias(
                            p.function.name,
                            region.alias,
                            primary=p.previous,
                            weights={target: share / 100},
                            record=record,
                        )
                self.where = f"{name} {label}"
            self.log(f"[{name}] {label}: {share} % of traffic on the new version(s)")
            self.emit("shift", name, step=index + 1, share=share)
            self.wait_warm(region, pending, label)
            try:
                failure = self.bake_step(region, label, index + 1, share)
            except AwsError as exc:  # the region cannot be watched: no verdict is no pass
                failure = f"cannot watch the region ({exc})"
            if failure is not None:
                self.fail(region, label, failure)
        with _deferred_interrupt():
            for p in pending:
                record = Record(p.previous, p.function.version, BAKED)
                aws.set_alias(
                    p.function.name,
                    region.alias,
                    primary=p.function.version,
                    weights={},
                    record=record,
                )
        self.where = f"after {name}"
        serves = ", ".join(f"{p.function.logical} {p.function.version}" for p in pending)
        self.log(f"[{name}] done: serves {serves}")
        self.emit("region-done", name)

    def wait_warm(self, region: RegionPlan, pending: list[Pending], label: str) -> None:
        """Lambda splits an alias's provisioned concurrency between its versions by weight:
        wait until it is READY for the new split before the bake counts."""
        aws = self.client(region.region)
        deadline = self.clock() + WARM_TIMEOUT_SECONDS
        for p in pending:
            while True:
                status = aws.warm_status(p.function.name, region.alias)
                if status is None or status[0] == "READY":
                    break
                if status[0] == "FAILED" or self.clock() > deadline:
                    self.fail(
                        region,
                        label,
                        f"provisioned concurrency of {p.function.name}:{region.alias} "
                        f"{status[0]} ({status[1] or 'not ready in time'})",
                    )
                self.log(f"[{region.region}] {label}: provisioned concurrency {status[0]}, waiting")
                self.sleep(min(10.0, max(0.2, self.bake / 20)))

    def bake_step(self, region: RegionPlan, label: str, step: int, share: int) -> str | None:
        """Watch the alarms (and the synthetic check) for one bake; the failure, or None."""
        name = region.region
        aws = self.client(name)
        bake = self.bake
        poll = min(10.0, max(0.2, bake / 20))
        # At the start and the end of every bake, and every minute in between.
        check_every = 60.0
        report_every = min(60.0, max(1.0, bake / 4))
        started = self.clock()
        end = started + bake
        next_check = started
        next_report = started + report_every
        checked = "not run yet"
        self.emit("bake-start", name, step=step, share=share)
        while True:
            states = aws.alarm_states(region.alarms)
            firing = sorted(a for a in region.alarms if states.get(a) == ALARM)
            if firing:
                return f"alarm {firing[0]} in ALARM"
            now = self.clock()
            if self.check is not None and (now >= next_check or now >= end):
                endpoint = self.endpoints.get(name, region.endpoint)
                problem = self.check(name, endpoint)
                if problem is not None:
                    return problem
                checked = "passed"
                next_check = self.clock() + check_every
            now = self.clock()
            if now >= end:
                break
            if now >= next_report:
                no_data = sum(1 for a in region.alarms if states.get(a) == NO_DATA)
                alarms = f"{len(region.alarms)} alarms clear" + (
                    f" ({no_data} without data)" if no_data else ""
                )
                synthetic = f"; synthetic check {checked}" if self.check is not None else ""
                self.log(
                    f"[{name}] {label}: baking, {_duration(end - now)} left; {alarms}{synthetic}"
                )
                next_report = now + report_every
            self.sleep(min(poll, max(0.0, end - now)))
        self.log(f"[{name}] {label}: baked clean ({_duration(bake)})")
        self.emit("bake-ok", name, step=step, share=share)
        return None

    def fail(self, region: RegionPlan, label: str, problem: str) -> None:
        versions = ", ".join(f"{f.logical} {f.version}" for f in region.functions)
        self.emit("failed", region.region, detail=problem)
        self.log(f"[{region.region}] {label}: {problem}; rolling back")
        with _deferred_interrupt():
            moved, errors = self.rollback()
        back = sorted({r for r, _, _, _ in moved}, key=self._order)
        summary = f"rolled back {', '.join(back)}" if back else "nothing to roll back"
        if errors:
            summary += f"; COULD NOT roll back: {'; '.join(errors)}"
        olds = ", ".join(sorted({f"{fn} {old}" for _, fn, _, old in moved})) or "-"
        raise RolloutFailedError(
            f"rollout failed: {region.region} {label}: {problem} (new versions: {versions}); "
            f"{summary} to the versions they served before ({olds})"
        )

    def _order(self, region: str) -> int:
        return [r.region for r in self.plan.regions].index(region)

    def rollback(self) -> tuple[list[tuple[str, str, str, str]], list[str]]:
        """Every alias whose rollout record names the newest version and that serves it
        (wholly or in part) goes back to the version it served before.

        Returns (region, function, from, to) per alias moved, and one line per region
        that could not be rolled back."""
        moved: list[tuple[str, str, str, str]] = []
        errors: list[str] = []
        for region in self.plan.regions:
            try:
                aws = self.client(region.region)
                for function in region.functions:
                    state = aws.alias(function.name, region.alias)
                    record = state.record
                    if record is None or record.target != function.version:
                        continue
                    if state.primary == record.previous and not state.weights:
                        continue
                    aws.set_alias(
                        function.name,
                        region.alias,
                        primary=record.previous,
                        weights={},
                        record=Record(record.previous, record.target, ROLLED_BACK),
                    )
                    moved.append(
                        (region.region, function.logical, state.describe(), record.previous)
                    )
                    self.log(
                        f"[{region.region}] {function.logical}: {state.describe()} → "
                        f"{record.previous} (rolled back)"
                    )
            except AwsError as exc:
                errors.append(str(exc))
        for name in sorted({r for r, _, _, _ in moved}, key=self._order):
            self.emit("rolled-back", name)
        return moved, errors


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Ctrl-C (or SIGTERM) waits until the aliases of a step have all moved, then interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, hold) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        raise KeyboardInterrupt
