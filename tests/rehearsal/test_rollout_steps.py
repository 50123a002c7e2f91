"""The rehearsal's canary steps: which variants run them, and the region-order check."""

from __future__ import annotations

import tomllib

from rehearsal.__main__ import VARIANTS
from rehearsal.rollout_steps import order_problem, wanted

ROLLOUT = [
    "rollout: us-east-1, us-west-2 in that order; steps 10 % → 100 %, bake 2.0 s each",
    "[us-east-1] health 1→2",
    "[us-east-1] step 1/2 (10 %): 10 % of traffic on the new version(s)",
    "[us-east-1] step 2/2 (100 %): 100 % of traffic on the new version(s)",
    "[us-east-1] done: serves health 2",
    "[us-west-2] health 1→2",
    "[us-west-2] step 1/2 (10 %): 10 % of traffic on the new version(s)",
    "[us-west-2] done: serves health 2",
]


def test_regions_in_order_pass() -> None:
    assert order_problem(ROLLOUT, ["us-east-1", "us-west-2"]) is None


def test_a_region_moving_before_the_one_before_is_done_fails() -> None:
    early = [*ROLLOUT[:3], ROLLOUT[6], *ROLLOUT[3:6], ROLLOUT[7]]
    assert order_problem(early, ["us-east-1", "us-west-2"]) == (
        "us-west-2 moved (line 3) before us-east-1 was done (line 5)"
    )
    assert order_problem(ROLLOUT, ["us-west-2", "us-east-1"]) is not None


def test_exactly_the_canary_variant_rehearses_the_rollout() -> None:
    chosen = {name for name, path in VARIANTS.items() if wanted(tomllib.loads(path.read_text()))}
    assert chosen == {"three-regions-weighted-on-demand"}
