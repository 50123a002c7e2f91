"""The abuse and cost limits' settings: defaults, bounds and cross-checks, one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from epoch_settings import Settings, SettingsError, load_settings
from handlers import contract

VALID = """
domain_name = "example.com"
hosted_zone_id = "Z123ABC"
"""


def load_with(tmp_path: Path, extra: str) -> Settings:
    path = tmp_path / "settings.toml"
    path.write_text(f"{VALID}\n{extra}")
    return load_settings(path)


def lines_for(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_with(tmp_path, extra)
    prefix = f"{tmp_path / 'settings.toml'}: "
    assert all(line.startswith(prefix) for line in caught.value.lines)
    assert "Traceback" not in str(caught.value)
    return [line.removeprefix(prefix) for line in caught.value.lines]


def test_limit_defaults(tmp_path: Path) -> None:
    settings = load_with(tmp_path, "")
    api = settings.api
    assert (api.throttle_rate_limit, api.throttle_burst_limit) == (100.0, 200)
    assert (api.register_throttle_rate_limit, api.register_throttle_burst_limit) == (25.0, 50)
    assert (api.waf_rate_limit, api.waf_register_rate_limit) == (2000, 300)
    assert api.waf_ip_reputation_enabled is True
    assert api.waf_max_body_bytes == contract.MAX_BODY_BYTES
    functions = settings.functions
    assert (functions.reserved_concurrency, functions.account_concurrency_quota) == (0, 1000)
    assert settings.table.retention_days == 0
    budget = settings.budget
    assert (budget.monthly_usd, budget.alert_percentages) == (300.0, (80, 100))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "[lambda]\nreserved_concurrency = 301",
            "lambda.reserved_concurrency: 3 functions x 301 = 903 reserved per region, but an "
            "account limit of 1000 (lambda.account_concurrency_quota) must keep 100 unreserved, "
            "leaving 900: reserve at most 300, or raise account_concurrency_quota once AWS has "
            "raised the region's quota",
        ),
        (
            "[lambda]\nreserved_concurrency = 700\naccount_concurrency_quota = 2000",
            "lambda.reserved_concurrency: 3 functions x 700 = 2100 reserved per region, but an "
            "account limit of 2000 (lambda.account_concurrency_quota) must keep 100 unreserved, "
            "leaving 1900: reserve at most 633, or raise account_concurrency_quota once AWS has "
            "raised the region's quota",
        ),
        (
            "[lambda]\nreserved_concurrency = 1\nprovisioned_concurrency = 2",
            "lambda.reserved_concurrency: 1 is below lambda.provisioned_concurrency (2): a "
            "function's provisioned environments come out of its reserved concurrency; reserve "
            "at least 2, or 0 for no reservation",
        ),
        (
            "[lambda]\nreserved_concurrency = -1",
            "lambda.reserved_concurrency: Input should be greater than or equal to 0",
        ),
        (
            "[lambda]\naccount_concurrency_quota = 5",
            "lambda.account_concurrency_quota: Input should be greater than or equal to 10",
        ),
        (
            "[api]\nregister_throttle_rate_limit = 150.0",
            "api.register_throttle_rate_limit: 150 is above throttle_rate_limit (100); the "
            "write route's limit is meant to be lower",
        ),
        (
            "[api]\nregister_throttle_burst_limit = 300",
            "api.register_throttle_burst_limit: 300 is above throttle_burst_limit (200); the "
            "write route's limit is meant to be lower",
        ),
        (
            "[api]\nwaf_register_rate_limit = 5000",
            "api.waf_register_rate_limit: 5000 is above waf_rate_limit (2000), which counts "
            "POSTs too and would block first",
        ),
        (
            "[api]\nwaf_register_rate_limit = 50",
            "api.waf_register_rate_limit: Input should be greater than or equal to 100",
        ),
        (
            "[api]\nwaf_max_body_bytes = 2048",
            "api.waf_max_body_bytes: Input should be less than or equal to 1024",
        ),
        (
            '[api]\nwaf_ip_reputation_enabled = "yes"',
            "api.waf_ip_reputation_enabled: Input should be a valid boolean (got 'yes')",
        ),
        (
            "[table]\nretention_days = 3651",
            "table.retention_days: Input should be less than or equal to 3650",
        ),
        (
            "[table]\nretention_days = -1",
            "table.retention_days: Input should be greater than or equal to 0",
        ),
        (
            "[budget]\nmonthly_usd = -5",
            "budget.monthly_usd: Input should be greater than or equal to 0",
        ),
        (
            "[budget]\nalert_percentages = [80, 80, 100]",
            "budget.alert_percentages: duplicate percentage 80",
        ),
        (
            "[budget]\nalert_percentages = []",
            "budget.alert_percentages: needs at least 1 entries (got 0)",
        ),
        (
            "[budget]\nalert_percentages = [0]",
            "budget.alert_percentages.0: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_bad_limit_is_one_line_naming_the_key(tmp_path: Path, extra: str, expected: str) -> None:
    assert lines_for(tmp_path, extra) == [expected]


def test_every_limit_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    lines = lines_for(
        tmp_path,
        "[lambda]\nreserved_concurrency = 400\n"
        "[api]\nwaf_register_rate_limit = 3000\n"
        "[table]\nretention_days = 9999\n"
        "[budget]\nalert_percentages = [50, 50]\n",
    )
    assert sorted(line.split(":", 1)[0] for line in lines) == [
        "api.waf_register_rate_limit",
        "budget.alert_percentages",
        "lambda.reserved_concurrency",
        "table.retention_days",
    ]


@pytest.mark.parametrize(
    "extra",
    [
        "[lambda]\nreserved_concurrency = 300",
        "[lambda]\nreserved_concurrency = 2\nprovisioned_concurrency = 2",
        "[lambda]\nreserved_concurrency = 633\naccount_concurrency_quota = 2000",
        "[lambda]\nreserved_concurrency = 0\nprovisioned_concurrency = 5",
        "[api]\nregister_throttle_rate_limit = 100.0\nregister_throttle_burst_limit = 200",
        "[api]\nwaf_register_rate_limit = 2000",
        "[table]\nretention_days = 3650",
        "[budget]\nmonthly_usd = 0",
    ],
)
def test_limits_at_their_bounds_are_accepted(tmp_path: Path, extra: str) -> None:
    load_with(tmp_path, extra)
