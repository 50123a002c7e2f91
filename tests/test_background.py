"""The background gate runner (tests/background.py) the slow gates rely on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.background import GATE_NICENESS, Gate, runner


def fail(_scratch: Path) -> int:
    raise ZeroDivisionError("gate work failed")


def test_the_work_s_exception_is_raised_in_the_test() -> None:
    with pytest.raises(ZeroDivisionError, match="gate work failed"):
        Gate("failing", fail).result()


def test_an_unmarked_gate_runs_on_result_in_its_own_scratch_folder() -> None:
    gate = Gate("scratch", lambda scratch: scratch)
    scratch = gate.result()
    assert scratch.is_dir()
    assert scratch.parent == runner().tmp
    assert gate.result() is scratch  # done once
    assert gate.seconds is not None


def test_an_after_synth_gate_never_started_says_how_to_start_it() -> None:
    gate = Gate("late", lambda *_args: 1, after_synth=True)
    with pytest.raises(RuntimeError, match="was not started"):
        gate.result()


def test_gate_work_runs_at_lower_priority() -> None:
    gate = Gate("niceness", lambda _scratch: os.getpriority(os.PRIO_PROCESS, 0))
    # 19 is the lowest priority there is.
    assert gate.result() == min(19, os.getpriority(os.PRIO_PROCESS, 0) + GATE_NICENESS)
