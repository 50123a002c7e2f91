"""Slow, independent gates run in the background while the other tests run.

A gate's slow work (a checkov run, mypy, Terraform over the synthesized output,
a synthesis in a subprocess) runs once per session on a worker thread; its
test awaits the result and asserts on it exactly as if it had run the work
itself. The work is mostly subprocesses, so it runs on the other core(s)
while the in-process tests run.

Plugging in a gate (e.g. a Terraform `validate`/`plan` gate):

    PLAN = Gate("terraform plan", plan_every_stack, after_synth=True)

    @pytest.mark.background(PLAN)
    def test_plan_is_clean() -> None:
        assert PLAN.result().errors == []

- `work` takes its own scratch folder (removed when the session ends) and,
  with `after_synth=True`, the synthesized apps (`dict[name, Synthesized]`)
  and their common output folder. It must not change shared state: it writes
  only below its scratch folder, and it does not call into jsii (the kernel
  connection is not thread-safe; read the synthesized files instead).
- The `background` mark makes the session start the gate early: when
  collection ends, or right after the session's synthesis for `after_synth`
  gates. Marked tests run at the end of the session, so the work has had the
  whole session to finish. A gate no collected test marks never runs.
- An exception in `work` is raised again by `result()`, in the test.
- `EPOCH_TEST_WORKERS` sets the number of worker threads (default: one per
  core; with the in-process tests that oversubscribes the cores a little,
  which measured faster than one worker fewer on 2 cores: the gates' work
  and the service tests both wait on other processes part of the time). The
  workers, and the processes they start, run at niceness 10, so the
  in-process tests get the CPU first and the gates use what is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

WORKERS_ENV_VAR = "EPOCH_TEST_WORKERS"
GATE_NICENESS = 10


def _lower_priority() -> None:
    # Linux: the nice value is per thread, and the gates' subprocesses inherit it.
    # The in-process tests (the critical path, some timing-sensitive) come first.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), GATE_NICENESS)


def workers() -> int:
    configured = os.environ.get(WORKERS_ENV_VAR)
    if configured:
        return max(1, int(configured))
    return max(1, os.cpu_count() or 1)


class Gate(Generic[T]):
    """One gate's slow work, done once per session (see the module docstring)."""

    def __init__(self, name: str, work: Callable[..., T], *, after_synth: bool = False) -> None:
        self.name = name
        self.work = work
        self.after_synth = after_synth
        self._future: Future[T] | None = None
        self.seconds: float | None = None  # how long the work ran

    def _timed(self, *args: Any) -> T:
        start = time.perf_counter()
        try:
            return self.work(*args)
        finally:
            self.seconds = time.perf_counter() - start

    def start(self, runner: Runner, *args: Any) -> None:
        if self._future is None:
            scratch = Path(
                tempfile.mkdtemp(prefix=f"{self.name.replace(' ', '-')}-", dir=runner.tmp)
            )
            runner.started.append(self)
            self._future = runner.submit(self._timed, scratch, *args)

    def result(self) -> T:
        """The work's result, waiting for it; the work's exception if it raised."""
        if self._future is None:
            if self.after_synth:
                raise RuntimeError(
                    f"gate {self.name!r} was not started: mark its test "
                    "@pytest.mark.background(...) and request the synthesized_apps fixture"
                )
            self.start(runner())  # its test was not marked: run the work now
        assert self._future is not None
        return self._future.result()


class Runner:
    """The session's worker threads, and the gates waiting for synthesis."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=workers(), thread_name_prefix="gate", initializer=_lower_priority
        )
        self._after_synth: list[Gate[Any]] = []
        self.started: list[Gate[Any]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="epoch-gates-"))

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._executor.submit(fn, *args)

    def start(self, gates: Iterable[Gate[Any]]) -> None:
        """Start the gates that need nothing; keep the others until `synthesized`."""
        for gate in gates:
            if gate.after_synth:
                self._after_synth.append(gate)
            else:
                gate.start(self)

    def synthesized(self, apps: dict[str, Any], root: Path) -> None:
        for gate in self._after_synth:
            gate.start(self, apps, root)

    def report(self) -> list[str]:
        """One line per gate started: how long its work ran."""
        return [
            f"{gate.name}: {gate.seconds:.1f} s"
            if gate.seconds is not None
            else f"{gate.name}: not finished"
            for gate in self.started
        ]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


_RUNNER: list[Runner] = []


def runner() -> Runner:
    """The session's runner, created on first use."""
    if not _RUNNER:
        _RUNNER.append(Runner())
    return _RUNNER[0]


def shutdown() -> list[str]:
    """End the session's runner, if one was created; its `report`."""
    if not _RUNNER:
        return []
    done = _RUNNER.pop()
    done.shutdown()
    return done.report()
