"""Settings validation: each bad case gives one clear line naming the key."""

from __future__ import annotations

from pathlib import Path

import botocore
import pytest

from epoch_settings import Settings, SettingsError, load_settings, settings_path_from
from epoch_settings.loader import DEFAULT_SETTINGS_PATH, SETTINGS_ENV_VAR

VALID = """
domain_name = "example.com"
hosted_zone_id = "Z123ABC"
"""


# Real regions (each must be one): one more than `regions` allows.
ELEVEN_REGIONS = (
    *(f"us-{side}-{n}" for side in ("east", "west") for n in (1, 2)),
    *(f"eu-west-{n}" for n in (1, 2, 3)),
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, text))
    return str(caught.value)


def test_checked_in_settings_are_valid() -> None:
    settings = load_settings(DEFAULT_SETTINGS_PATH)
    assert settings.regions == ("us-east-1", "us-west-2")
    assert settings.primary_region == "us-east-1"


def test_minimal_file_takes_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    assert settings.regions == ("us-east-1", "us-west-2")
    assert settings.routing.mode == "traffic-policy"
    assert settings.table.billing_mode == "PROVISIONED"
    assert settings.alarm_email is None
    assert settings.names.api_domain == "api.example.com"
    # The idle-cost defaults (docs/costs.md).
    assert settings.routing.health_check_interval == 30
    assert settings.routing.health_check_regions == ("us-east-1", "us-west-2", "eu-west-1")
    assert settings.routing.health_check_measure_latency is False
    assert settings.api.detailed_metrics_enabled is True
    assert settings.api.health_trace_rate == 0.0
    assert settings.functions.health_system_log_level == "WARN"


@pytest.mark.parametrize(
    "extra",
    [
        "[lambda]\nprovisioned_concurrency = 300",
        "[lambda]\nprovisioned_concurrency = 0\naccount_concurrency_quota = 10",
        "[lambda]\nprovisioned_concurrency = 1000\naccount_concurrency_quota = 3100",
    ],
)
def test_provisioned_concurrency_that_fits_the_quota_is_accepted(
    tmp_path: Path, extra: str
) -> None:
    load_settings(write(tmp_path, f"{VALID}\n{extra}"))


def test_pay_per_request_tables_need_no_autoscaling_endpoint(tmp_path: Path) -> None:
    """Application Auto Scaling is checked only where the stack uses it."""
    from epoch_settings import aws_regions

    assert aws_regions.missing_services("us-east-1", aws_regions.AUTOSCALING_SERVICE) == []
    assert aws_regions.missing_services("us-east-1", {"no-such-service": "None"}) == [
        "None (no-such-service)"
    ]


def test_health_trace_rate_takes_whole_numbers_too(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, f"{VALID}\n[api]\nhealth_trace_rate = 1"))
    assert settings.api.health_trace_rate == 1.0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('colour = "blue"', "colour: unknown setting"),
        ("[table]\nread_mn = 5", "table.read_mn: unknown setting"),
        ('log_retention_days = "ninety"', "log_retention_days: Input should be a valid integer"),
        ('[lambda]\nmemory_mb = "256"', "lambda.memory_mb: Input should be a valid integer"),
        ("[table]\ndeletion_protection_enabled = 1", "table.deletion_protection_enabled"),
        ('regions = ["us-east-1", "us-east-1"]', "regions: duplicate region us-east-1"),
        (
            'regions = ["us-east-1", "mars-north-1"]',
            "regions.1: 'mars-north-1' is not an AWS region",
        ),
        (
            'regions = ["us-east-1", "us-west-3"]',
            "regions.1: us-west-3 is not an AWS commercial region in botocore "
            f"{botocore.__version__}'s endpoint data; did you mean us-west-2, us-west-1, "
            "eu-west-3?",
        ),
        (
            'regions = ["us-east-1", "eu-west-1"]\n[routing]\nweights = { "us-east-7" = 1 }',
            "routing.weights.us-east-7: us-east-7 is not an AWS commercial region",
        ),
        (
            'regions = ["us-east-1", "ap-southeast-7"]',
            "regions: ap-southeast-7 has no WAFv2 (wafv2) endpoint in botocore "
            f"{botocore.__version__}'s endpoint data, and the stack needs it in every region",
        ),
        (
            "[lambda]\nprovisioned_concurrency = 301",
            "lambda.provisioned_concurrency: 301 x 3 functions = 903 provisioned executions "
            "per region, but a concurrency quota of 1000 less the 100 Lambda keeps unreserved "
            "leaves 900: at most 300 per function. Lower it, or set "
            "lambda.account_concurrency_quota once AWS has raised the quota",
        ),
        (
            "[lambda]\nprovisioned_concurrency = 2\naccount_concurrency_quota = 10",
            "lambda.provisioned_concurrency: 2 x 3 functions = 6 provisioned executions per "
            "region, but a concurrency quota of 10 less the 100 Lambda keeps unreserved "
            "leaves 0: at most 0 per function",
        ),
        ('regions = ["us-east-1"]', "regions: needs at least 2 entries (got 1)"),
        ('regions = "us-east-1"', "regions: must be an array [...] (got 'us-east-1')"),
        (
            "regions = [" + ", ".join(f'"{region}"' for region in ELEVEN_REGIONS) + "]",
            "regions: allows at most 10 entries (got 11)",
        ),
        (
            "[lambda]\nmemory_mb = true",
            "lambda.memory_mb: Input should be a valid integer (got true)",
        ),
        (
            "log_retention_days = 2024-01-01",
            "log_retention_days: Input should be a valid integer (got 2024-01-01)",
        ),
        ("tags = 3", "tags: must be a table { key = value, ... } (got 3)"),
        ("routing = 5", "routing: must be a table ([routing]) of settings (got 5)"),
        ("[[table]]\nread_min = 5", "table: must be a table ([table]) of settings (got [{"),
        (
            '[remote_state]\nstate_key = "a key with spaces"',
            "remote_state.state_key: 'a key with spaces' is not an S3 object key of",
        ),
        ('alarm_email = "not-an-email"', "alarm_email: 'not-an-email' is not an e-mail address"),
        ("log_retention_days = 42", "log_retention_days: 42 is not a CloudWatch Logs retention"),
        ('[routing]\nmode = "random"', "routing.mode: Input should be 'traffic-policy'"),
        ('[routing]\nweights = { "eu-west-1" = 10 }', "routing.weights: eu-west-1 is not one of"),
        (
            '[routing]\nweights = { "us-east-1" = 0, "us-west-2" = 0 }',
            "routing.weights: every region has weight 0",
        ),
        (
            '[routing]\nmode = "latency-records"\nweights = { "us-east-1" = 5 }',
            "routing.weights: latency-records routes by latency",
        ),
        (
            "[table]\nread_min = 50\nread_max = 10",
            "table.read_min: 50 must not exceed read_max (10)",
        ),
        (
            "[table]\nlist_shards = 0",
            "table.list_shards: Input should be greater than or equal to 1",
        ),
        (
            "[table]\nlist_shards = 17",
            "table.list_shards: Input should be less than or equal to 16",
        ),
        ("[lambda]\ntimeout_seconds = 30", "lambda.timeout_seconds: Input should be less than"),
        ("[lambda]\ntimeout_seconds = 5", "lambda.timeout_seconds: must be at least 9"),
        # Below Lambda's own minimum too: the same message, not a bound docs/settings.md lacks.
        ("[lambda]\ntimeout_seconds = 2", "lambda.timeout_seconds: must be at least 9"),
        ("[lambda]\ntimeout_seconds = -1", "lambda.timeout_seconds: must be at least 9"),
        ('[tags]\n"aws:owner" = "me"', "tags: aws:owner: keys starting with 'aws:' are reserved"),
        (
            'app_name = "epoch-"',
            "app_name: 'epoch-' is not 3-24 lower-case letters, digits and hyphens, "
            "starting with a letter and ending with a letter or digit",
        ),
        (
            '[remote_state]\nbucket = "-state"',
            "remote_state.bucket: '-state' is not an S3 bucket name: 3-63 lower-case letters, "
            "digits and hyphens, starting and ending with a letter or digit",
        ),
        (
            '[deploy]\nbranch = "-main"',
            "deploy.branch: '-main' is not a branch name of letters, digits and ._/-, "
            "starting with a letter or digit",
        ),
        (
            "[routing]\nhealth_check_interval = 20",
            "routing.health_check_interval: Input should be 10 or 30",
        ),
        (
            '[routing]\nhealth_check_regions = ["us-east-1", "eu-west-1"]',
            "routing.health_check_regions: needs at least 3 entries (got 2)",
        ),
        (
            '[routing]\nhealth_check_regions = ["us-east-1", "eu-west-1", "eu-central-1"]',
            "routing.health_check_regions.2: Input should be 'us-east-1', 'us-west-1'",
        ),
        (
            '[routing]\nhealth_check_regions = ["us-east-1", "eu-west-1", "us-east-1"]',
            "routing.health_check_regions: duplicate region us-east-1; list at least 3",
        ),
        (
            '[routing]\nhealth_check_measure_latency = "yes"',
            "routing.health_check_measure_latency: Input should be a valid boolean",
        ),
        (
            '[api]\ndetailed_metrics_enabled = "true"',
            "api.detailed_metrics_enabled: Input should be a valid boolean",
        ),
        (
            "[api]\nhealth_trace_rate = 5",
            "api.health_trace_rate: Input should be less than or equal to 1",
        ),
        (
            "[api]\nhealth_trace_rate = -0.1",
            "api.health_trace_rate: Input should be greater than or equal to 0",
        ),
        (
            '[lambda]\nhealth_system_log_level = "ERROR"',
            "lambda.health_system_log_level: Input should be 'DEBUG', 'INFO' or 'WARN'",
        ),
    ],
)
def test_bad_value_names_key_and_problem(tmp_path: Path, extra: str, expected: str) -> None:
    # Top-level keys must precede tables in TOML; put the base keys after any table.
    text = f"{VALID}\n{extra}" if extra.startswith("[") else f"{extra}\n{VALID}"
    message = error_for(tmp_path, text)
    assert expected in message
    assert str(tmp_path / "settings.toml") in message
    assert "Traceback" not in message


def test_malformed_domain(tmp_path: Path) -> None:
    message = error_for(tmp_path, 'domain_name = "not a domain"\nhosted_zone_id = "Z1"')
    assert "domain_name: 'not a domain' is not a lower-case domain name" in message


def test_api_domain_too_long_for_a_certificate(tmp_path: Path) -> None:
    domain = f"{'a' * 50}.{'b' * 7}.com"  # 62 characters; api. makes 66
    message = error_for(tmp_path, f'domain_name = "{domain}"\nhosted_zone_id = "Z1"')
    assert f"domain_name: the API's name api.{domain} is 66 characters" in message
    assert "at most 60" in message
    fits = f"{'a' * 49}.{'b' * 6}.com"  # 60 characters
    assert load_settings(write(tmp_path, f'domain_name = "{fits}"\nhosted_zone_id = "Z1"'))


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, 'domain_name = "example.com"')
    assert message.endswith("hosted_zone_id: required setting is missing")


def test_every_problem_is_reported_one_per_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, 'colour = "x"\ndomain_name = "BAD"\nhosted_zone_id = "Z1"')
    lines = message.splitlines()
    assert len(lines) == 2
    assert any("colour: unknown setting" in line for line in lines)
    assert any("domain_name:" in line for line in lines)


def test_field_errors_and_cross_field_checks_in_one_run(tmp_path: Path) -> None:
    # The example: an unknown key, read_min above read_max, a retention
    # CloudWatch does not offer and a duplicate region, plus a field error in the
    # same section as a cross-field problem and a bad required value.
    text = (
        'colour = "blue"\nregions = ["us-east-1", "us-east-1"]\nlog_retention_days = 366\n'
        'domain_name = "BAD"\nhosted_zone_id = "Z1"\n'
        '[table]\nread_min = 50\nread_max = 10\nwrite_min = "x"\n'
        '[routing]\ndrill_regions = ["eu-west-1"]\n'
    )
    lines = error_for(tmp_path, text).splitlines()
    path = str(tmp_path / "settings.toml")
    expected_keys = [
        "colour",
        "domain_name",
        "table.write_min",
        "table.read_min",
        "log_retention_days",
        "regions",
        "routing.drill_regions",
    ]
    assert sorted(line.split(": ")[1] for line in lines) == sorted(expected_keys)
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_cross_field_check_skipped_when_its_field_is_invalid(tmp_path: Path) -> None:
    # regions is invalid, so the routing check that reads it cannot say anything true.
    text = 'regions = "us-east-1"\n' + VALID + '[routing]\ndrill_regions = ["eu-west-1"]\n'
    (line,) = error_for(tmp_path, text).splitlines()
    assert "regions: must be an array [...]" in line


def test_direct_construction_still_runs_cross_field_checks() -> None:
    with pytest.raises(ValueError, match="regions: duplicate region us-east-1"):
        Settings.model_validate(
            {
                "domain_name": "example.com",
                "hosted_zone_id": "Z1",
                "regions": ["us-east-1", "us-east-1"],
            }
        )


def test_toml_syntax_error(tmp_path: Path) -> None:
    assert "not valid TOML" in error_for(tmp_path, "domain_name = ")


def test_duplicate_key_in_file(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID + '\ndomain_name = "other.com"\n')
    assert "not valid TOML" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")


def test_path_option_wins_over_environment() -> None:
    env = {SETTINGS_ENV_VAR: "from-env.toml"}
    assert settings_path_from(["--settings", "cli.toml"], env) == Path("cli.toml")
    assert settings_path_from(["--settings=cli.toml"], env) == Path("cli.toml")
    assert settings_path_from([], env) == Path("from-env.toml")
    assert settings_path_from([], {}) == DEFAULT_SETTINGS_PATH


@pytest.mark.parametrize("argv", [["--settings"], ["--settings="], ["--settings", ""]])
def test_settings_option_without_value(argv: list[str]) -> None:
    with pytest.raises(SettingsError, match="--settings needs a file path"):
        settings_path_from(argv, {})


def test_the_last_settings_option_wins() -> None:
    argv = ["--settings", "a.toml", "--settings=b.toml"]
    assert settings_path_from(argv, {}) == Path("b.toml")


@pytest.mark.parametrize("argv", [["--bogus"], ["prod.toml"], ["--settings", "a.toml", "-x"]])
def test_an_unknown_argument_is_an_error(argv: list[str]) -> None:
    with pytest.raises(SettingsError, match=f"unknown argument '{argv[-1]}'.*--settings FILE"):
        settings_path_from(argv, {})


def test_a_folder_is_not_a_settings_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: is a folder, not a settings file; "
        "point --settings (or EPOCH_SETTINGS) at a .toml file"
    )


def test_a_byte_order_mark_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    """As a Windows editor saves the file ("UTF-8 with BOM", CRLF)."""
    path = tmp_path / "settings.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode())
    assert load_settings(path).domain_name == "example.com"


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b'domain_name = "caf\xe9.com"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: not UTF-8 text (byte 0xe9 at offset 18); save the file as UTF-8, as TOML requires"
    )
