"""The [rollout] settings: defaults, bounds, the region order and the gating alarms."""

from __future__ import annotations

from pathlib import Path

import pytest

from epoch_settings import RolloutSettings, SettingsError, load_settings

VALID = 'domain_name = "example.com"\nhosted_zone_id = "Z123ABC"\n'


def load(tmp_path: Path, rollout: str, regions: str = "") -> object:
    path = tmp_path / "settings.toml"
    path.write_text(VALID + regions + "[rollout]\n" + rollout)
    return load_settings(path)


def errors(tmp_path: Path, rollout: str, regions: str = "") -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, rollout, regions)
    return [line.split(": ", 1)[1] for line in caught.value.lines]


def test_defaults_keep_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(VALID)
    settings = load_settings(path)
    assert settings.rollout == RolloutSettings()
    assert settings.rollout.mode == "all-at-once"
    assert settings.rollout.shares() == (10, 100)
    assert settings.rollout_order == settings.regions


@pytest.mark.parametrize(
    ("percent", "steps", "shares"),
    [(10, 2, (10, 100)), (10, 3, (10, 55, 100)), (5, 4, (5, 37, 68, 100)), (50, 2, (50, 100))],
)
def test_shares_grow_evenly_to_100(percent: int, steps: int, shares: tuple[int, ...]) -> None:
    assert RolloutSettings(canary_percent=percent, steps=steps).shares() == shares


def test_a_canary_rollout_with_its_own_order(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        'mode = "canary"\nregion_order = ["us-west-2", "us-east-1"]\n'
        'gate_alarms = ["function-errors"]\nbake_seconds = 300\n',
    )
    assert settings.rollout_order == ("us-west-2", "us-east-1")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rollout", "expected"),
    [
        ('mode = "blue-green"\n', "rollout.mode: Input should be 'all-at-once' or 'canary'"),
        (
            "bake_seconds = 60\n",
            "rollout.bake_seconds: Input should be greater than or equal to 300",
        ),
        (
            "canary_percent = 0\n",
            "rollout.canary_percent: Input should be greater than or equal to 1",
        ),
        ("steps = 1\n", "rollout.steps: Input should be greater than or equal to 2"),
        ("gate_alarms = []\n", "rollout.gate_alarms: "),
        ('gate_alarms = ["errors"]\n', "rollout.gate_alarms.0: Input should be 'api-5xx-rate'"),
        (
            'gate_alarms = ["api-5xx-rate", "api-5xx-rate"]\n',
            "rollout.gate_alarms: duplicate alarm api-5xx-rate",
        ),
        (
            'region_order = ["us-west-2"]\n',
            "rollout.region_order: us-east-1 is missing: list every configured region once "
            "(us-east-1, us-west-2), or leave it out for that order",
        ),
        (
            'region_order = ["us-west-2", "eu-west-1", "us-west-2"]\n',
            "rollout.region_order: eu-west-1 is not a configured region; us-east-1 is missing; "
            "us-west-2 is listed twice",
        ),
        ('region_order = ["nowhere"]\n', "rollout.region_order.0: "),
    ],
)
def test_bad_rollout_settings_get_one_line(tmp_path: Path, rollout: str, expected: str) -> None:
    (line,) = errors(tmp_path, rollout)
    assert line.startswith(expected)
