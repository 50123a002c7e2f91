"""`pipenv run verify` against local-mode servers over real dynalite, over loopback HTTP.

Two servers answering as us-east-1 and us-west-2 over one table stand in for the
global table with zero replication lag (see conftest). Each check has a
failing case here or in test_verify_checks.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from local_api.dynalite import free_port
from local_api.server import LocalApi
from tests.conftest import PROJECT_ROOT
from tests.service.support import new_table, shared_admin_client
from tests.verify.conftest import EAST, WEST, RegionFactory
from tests.verify.support import endpoint_args, failures, run_verify, statuses
from verify.cli import main


def stored_count(endpoint_url: str, table: str) -> int:
    admin = shared_admin_client(endpoint_url)
    return int(admin.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"])


def test_two_regions_pass_every_check(
    two_regions: dict[str, LocalApi], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_verify(
        capsys, *endpoint_args(two_regions), "--api-url", two_regions[EAST].url
    )
    assert code == 0, failures(document)
    assert document["passed"] is True
    by_check = {c["check"] for c in document["checks"] if c["status"] == "pass"}
    assert by_check == {"health", "replication", "idempotency", "list", "errors"}
    # http URLs and loopback: TLS and DNS say why they are skipped; no AWS ids here.
    skipped = {c["check"]: c["detail"] for c in document["checks"] if c["status"] == "skip"}
    assert set(skipped) == {"tls", "dns", "route53"}
    assert "http" in skipped["tls"]
    assert "loopback" in skipped["dns"]
    pairs = {c["scope"]: c["figures"] for c in document["checks"] if c["check"] == "replication"}
    assert set(pairs) == {f"{EAST} -> {WEST}", f"{WEST} -> {EAST}"}
    for figures in pairs.values():
        assert figures["fresh"] == 1
        assert 0 <= figures["lag_ms_min"] <= figures["lag_ms_median"] <= figures["lag_ms_max"]
    assert document["writes"] == 4  # one per region + the idempotent pair


def test_repeated_runs_reuse_their_entries(
    dynalite: object,
    two_regions: dict[str, LocalApi],
    table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = dynalite.endpoint_url  # type: ignore[attr-defined]
    code, _ = run_verify(capsys, *endpoint_args(two_regions))
    assert code == 0
    after_first = stored_count(endpoint, table)
    assert after_first == 3  # 2 replication entries + 1 idempotency entry
    code, document = run_verify(capsys, *endpoint_args(two_regions))
    assert code == 0, failures(document)
    assert stored_count(endpoint, table) == after_first
    replication = [c for c in document["checks"] if c["check"] == "replication"]
    assert all(c["figures"]["reused"] == 1 and c["figures"]["fresh"] == 0 for c in replication)
    # A new label makes fresh entries (and lag figures), still bounded per run.
    code, _ = run_verify(capsys, *endpoint_args(two_regions), "--key-label", "again")
    assert code == 0
    assert stored_count(endpoint, table) == after_first + 3


def test_a_region_forced_unhealthy_fails_and_is_named(
    serve_region: RegionFactory, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    regions = {
        EAST: serve_region(EAST, table),
        WEST: serve_region(WEST, table, force_unhealthy=True),
    }
    code, document = run_verify(capsys, *endpoint_args(regions), "--checks", "health")
    assert code == 1
    assert statuses(document, "health") == {EAST: "pass", WEST: "fail"}
    assert WEST in document["summary"]
    assert "503" in failures(document)[0][2]


def test_a_wrong_endpoint_fails_health(
    two_regions: dict[str, LocalApi], capsys: pytest.CaptureFixture[str]
) -> None:
    swapped = {EAST: two_regions[WEST], WEST: two_regions[EAST]}
    code, document = run_verify(capsys, *endpoint_args(swapped), "--checks", "health")
    assert code == 1
    assert {scope for _check, scope, _detail in failures(document)} == {EAST, WEST}
    assert any(f"answers as region '{WEST}'" in detail for *_, detail in failures(document))


def test_registrations_that_never_replicate_fail_replication_and_idempotency(
    serve_region: RegionFactory, dynalite: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.service.support import new_table

    endpoint = dynalite.endpoint_url  # type: ignore[attr-defined]
    regions = {
        EAST: serve_region(EAST, new_table(endpoint)),
        WEST: serve_region(WEST, new_table(endpoint)),  # another table: nothing replicates
    }
    code, document = run_verify(
        capsys,
        *endpoint_args(regions),
        "--checks",
        "replication,idempotency",
        "--replication-timeout",
        "0.2",
    )
    assert code == 1
    assert statuses(document, "replication") == {
        f"{EAST} -> {WEST}": "fail",
        f"{WEST} -> {EAST}": "fail",
    }
    assert statuses(document, "idempotency") == {f"{EAST} then {WEST}": "fail"}
    assert any("not readable after 0.2 s" in detail for *_, detail in failures(document))


def test_outputs_file_from_cdktf_deploy_is_read(
    two_regions: dict[str, LocalApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "epoch-register": {
                    "api_url": two_regions[EAST].url,
                    "us_east_1_endpoint": two_regions[EAST].url,
                    "us_west_2_endpoint": two_regions[WEST].url,
                    "dynamodb_table_name": "ignored",
                }
            }
        )
    )
    code, document = run_verify(capsys, "--outputs-file", str(outputs), "--checks", "health")
    assert code == 0, failures(document)
    assert document["regions"] == [EAST, WEST]
    assert statuses(document, "health") == {EAST: "pass", WEST: "pass", "api": "pass"}


def test_terraform_output_format_is_read(
    two_regions: dict[str, LocalApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "tf.json"
    outputs.write_text(
        json.dumps(
            {
                "us_east_1_endpoint": {"value": two_regions[EAST].url, "type": "string"},
                "us_west_2_endpoint": {"value": two_regions[WEST].url, "type": "string"},
                "us_east_1_health_check_id": {"value": "abc", "type": "string"},
            }
        )
    )
    code, document = run_verify(capsys, "--outputs-file", str(outputs), "--checks", "health")
    assert code == 0
    assert document["regions"] == [EAST, WEST]


def wait_for_line(process: subprocess.Popen[bytes], text: str, timeout: float) -> bool:
    """True once `text` appears on the process's stderr (read in a thread), False on timeout."""
    found = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if text.encode() in line:
                found.set()
        # Keep draining until the process exits, so it never blocks on a full pipe.

    threading.Thread(target=read, daemon=True).start()
    return found.wait(timeout)


def test_the_cli_against_local_mode_as_a_process(tmp_path: Path) -> None:
    """`python -m local_api` as a user starts it, then `python -m verify` as a user runs it."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "local_api", "--port", str(port), "--data-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # The port is bound before the handlers are set: wait for the ready line.
        assert wait_for_line(server, "EpochRegister API on", timeout=60), "local mode did not start"
        url = f"http://127.0.0.1:{port}"
        for _ in range(2):  # the second run reuses the first run's entries
            result = subprocess.run(
                [sys.executable, "-m", "verify", "--region-endpoint", f"us-east-1={url}"],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
        assert "FAIL" not in result.stdout
        assert "skips do not fail the run" in result.stdout
        assert "one region: nothing to replicate to" in result.stdout
    finally:
        server.terminate()
        server.wait(15)


def test_ctrl_c_while_waiting_for_replication_stops_at_once(
    serve_region: RegionFactory, dynalite: object
) -> None:
    """Two regions over two tables: the write never replicates, so verify polls for up
    to --replication-timeout (120 s); Ctrl-C must end it then, in one line."""
    endpoint = dynalite.endpoint_url  # type: ignore[attr-defined]
    east_table, west_table = new_table(endpoint), new_table(endpoint)
    regions = {EAST: serve_region(EAST, east_table), WEST: serve_region(WEST, west_table)}
    args = ["--checks", "replication", "--replication-timeout", "120"]
    process = subprocess.Popen(
        [sys.executable, "-m", "verify", *endpoint_args(regions), *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while stored_count(endpoint, east_table) == 0:  # the first write: polling begins
            assert time.monotonic() < deadline, "verify never wrote"
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)  # far below the 120 s poll
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert out == ""
    assert err == (
        "interrupted: 1 registrations sent (keys verify-v1-…: "
        "a rerun with the same --key-label reuses them)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to verify"),
        (["--region-endpoint", "us-east-1"], "takes REGION=VALUE"),
        (["--region-endpoint", "useast=http://127.0.0.1:1"], "is not a region name"),
        (["--region-endpoint", "us-east-1=ftp://x"], "http:// or https:// URL"),
        (["--api-url", "not a url", "--region-endpoint", "us-east-1=http://h"], "--api-url"),
        (["--timeout", "-3"], "--timeout"),
        (["--timeout", "601"], "--timeout: must be more than 0 and at most 600, not 601"),
        (["--replication-timeout", "soon"], "must be a number of seconds, not 'soon'"),
        (["--checks", "health,nope"], "unknown check 'nope'"),
        (["--max-writes", "0"], "--max-writes"),
        (["--list-limit", "500"], "1-100"),
        (["--outputs-file", "/nonexistent/outputs.json"], "cannot read outputs file"),
        (["--bogus"], "unrecognized arguments"),
        (["--region-endpoint", "us-east-1=http://h", "--domain-target", "x"], "REGION=VALUE"),
        (
            ["--region-endpoint", "us-east-1=http://h", "--ca-file", str(PROJECT_ROOT / "Pipfile")],
            "is not a PEM certificate bundle",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(args)
    except SystemExit as exited:  # argparse's own errors exit from inside parse_args
        code = int(exited.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err


def test_an_unreachable_endpoint_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _ = run_verify(capsys, "--region-endpoint", f"us-west-2={url}")
    err = capsys.readouterr().err
    assert code == 2
    host = url.removeprefix("http://")
    assert err == f"error: us-west-2 endpoint {url} is unreachable ({host}): connection refused\n"


def test_outputs_without_endpoints_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    code, _ = run_verify(capsys, "--outputs-file", str(outputs))
    assert code == 2
    assert "has no *_endpoint outputs" in capsys.readouterr().err


def test_terraform_dir_without_state_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real `terraform output -json` in a folder that was never deployed."""
    code, _ = run_verify(capsys, "--terraform-dir", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert str(tmp_path) in err


def test_terraform_dir_of_a_stack_never_initialized_is_plain_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A synthesized but never deployed root stack: its S3 backend is not initialized."""
    (tmp_path / "cdk.tf.json").write_text(
        json.dumps({"terraform": {"backend": {"s3": {"bucket": "b", "key": "k", "region": "r"}}}})
    )
    code, _ = run_verify(capsys, "--terraform-dir", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 2
    assert "\x1b[" not in err  # Terraform's colour codes
    assert err == (
        f"error: terraform output failed in {tmp_path}: Error: Backend initialization "
        'required, please run "terraform init" (deploy the stack first: '
        "pipenv run deploy epoch-register; see docs/deploying.md)\n"
    )


def test_the_write_budget_is_checked_before_anything_is_sent(
    dynalite: object,
    two_regions: dict[str, LocalApi],
    table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _ = run_verify(capsys, *endpoint_args(two_regions), "--max-writes", "3")
    assert code == 2
    assert "needs 4 registrations" in capsys.readouterr().err
    assert stored_count(dynalite.endpoint_url, table) == 0  # type: ignore[attr-defined]
