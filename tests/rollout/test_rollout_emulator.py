"""`pipenv run rollout` against the AWS emulator: alias moves, region order, rollback,
resume, --status, --rollback, Ctrl-C and bad input. Bakes are fractions of a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rollout.aws import RegionAws
from rollout.cli import main
from rollout.engine import Engine, Event, RolloutFailedError
from rollout.plan import plan_from_outputs
from rollout.synthetic import check_region
from tests.conftest import PROJECT_ROOT
from tests.rollout.conftest import EAST, REGIONS, WEST, Deployment, deploy, outputs_document
from tests.verify.conftest import RegionFactory

OLD = {("1", "{}")}
NEW = {("2", "{}")}
SPLIT = {("1", json.dumps({"2": 0.1}))}


def printed(text: str) -> list[str]:
    """The command's own lines (the in-process handlers print JSON access logs too)."""
    return [line for line in text.splitlines() if not line.startswith('{"time"')]


def engine(
    deployment: Deployment, on_event: Callable[[Event], None], lines: list[str] | None = None
) -> Engine:
    outputs = json.loads(deployment.outputs_file.read_text())
    plan = plan_from_outputs({k: v["value"] for k, v in outputs.items()}, "test")
    return Engine(
        plan=plan,
        aws=RegionAws,
        check=check_region,
        log=(lines.append if lines is not None else lambda line: None),
        on_event=on_event,
        bake_seconds=0.3,
        endpoints={r: api.url for r, api in deployment.endpoints.items()},
    )


def test_regions_move_one_after_the_other(deployment: Deployment) -> None:
    seen: list[tuple[str, str, int | None, set[tuple[str, str]], set[tuple[str, str]]]] = []

    def watch(event: Event) -> None:
        if event.kind in ("bake-start", "region-done"):
            seen.append(
                (
                    event.kind,
                    event.region,
                    event.share,
                    deployment.serves(EAST),
                    deployment.serves(WEST),
                )
            )

    assert deployment.serves(EAST) == deployment.serves(WEST) == OLD
    assert engine(deployment, watch).run() == 2
    assert seen == [
        ("bake-start", EAST, 10, SPLIT, OLD),
        ("bake-start", EAST, 100, NEW, OLD),
        ("region-done", EAST, None, NEW, OLD),
        ("bake-start", WEST, 10, NEW, SPLIT),
        ("bake-start", WEST, 100, NEW, NEW),
        ("region-done", WEST, None, NEW, NEW),
    ]
    record = deployment.alias(WEST)["Description"]
    assert record == "epoch-rollout previous=1 target=2 baked"


def test_progress_lines_nothing_left_then_rollback(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(deployment.args()) == 0
    lines = [line for line in printed(capsys.readouterr().out) if line.startswith(("rollout", "["))]
    assert lines[0].startswith(f"rollout: {EAST}, {WEST} in that order; steps 10 % → 100 %")
    assert f"[{EAST}] health 1→2, read 1→2, register 1→2" in lines
    assert f"[{EAST}] step 1/2 (10 %): 10 % of traffic on the new version(s)" in lines
    assert lines.index(f"[{EAST}] done: serves health 2, read 2, register 2") < lines.index(
        f"[{WEST}] step 1/2 (10 %): 10 % of traffic on the new version(s)"
    )
    assert lines[-1].startswith("rollout done: 2 region(s)")
    # Run again: nothing moves, one line, exit 0.
    assert main(deployment.args()) == 0
    assert printed(capsys.readouterr().out) == [
        "nothing to roll out: every region's live alias already serves the newest versions "
        "(apply new code first)"
    ]
    assert deployment.serves(EAST) == deployment.serves(WEST) == NEW
    # --rollback: every region back to what it served before; a second one has nothing to do.
    assert main([*deployment.args(), "--rollback"]) == 0
    out = printed(capsys.readouterr().out)
    assert out[-1] == "rolled back 6 alias(es)"
    assert f"[{EAST}] register: 2 → 1 (rolled back)" in out
    assert deployment.serves(EAST) == deployment.serves(WEST) == OLD
    assert main([*deployment.args(), "--rollback"]) == 0
    assert printed(capsys.readouterr().out) == [
        "nothing to roll back: no alias serves a version a rollout moved it to"
    ]


def test_an_alarm_in_the_second_region_rolls_back_both(deployment: Deployment) -> None:
    shifts: list[tuple[str, int | None]] = []

    def watch(event: Event) -> None:
        if event.kind == "shift":
            shifts.append((event.region, event.share))
        if event.kind == "bake-start" and event.region == WEST:
            deployment.set_alarm(WEST, "ALARM")

    with pytest.raises(RolloutFailedError) as failed:
        engine(deployment, watch).run()
    line = str(failed.value)
    assert "\n" not in line
    assert line.startswith(
        f"rollout failed: {WEST} step 1/2 (10 %): alarm {deployment.alarm(WEST)} in ALARM "
        "(new versions: health 2, read 2, register 2); "
        f"rolled back {EAST}, {WEST} to the versions they served before (health 1, read 1, "
        "register 1)"
    )
    # The second region never went past its canary share; both serve version 1 again.
    assert shifts == [(EAST, 10), (EAST, 100), (WEST, 10)]
    assert deployment.serves(EAST) == deployment.serves(WEST) == OLD
    assert deployment.alias(EAST)["Description"].endswith("rolled-back")


def test_a_failing_synthetic_check_rolls_back(
    aws_env: dict[str, str],
    serve_region: RegionFactory,
    table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoints = {
        EAST: serve_region(EAST, table),
        WEST: serve_region(WEST, table, force_unhealthy=True),
    }
    deployment = deploy(tmp_path, endpoints)
    assert main(deployment.args()) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"rollout failed: {WEST} step 1/2 (10 %): synthetic check failed: health: answered 503"
    )
    assert f"rolled back {EAST}, {WEST}" in err[0]
    assert deployment.serves(EAST) == deployment.serves(WEST) == OLD


def test_an_alarm_firing_before_a_region_starts_stops_without_moving_it(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.set_alarm(WEST, "ALARM", kind="read-errors")
    assert main(deployment.args()) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"rollout stopped: {WEST}: alarm {deployment.alarm(WEST, 'read-errors')} is in ALARM "
        f"before the rollout reached it; nothing in {WEST} moved (fix it, then run again to resume)"
    )
    assert deployment.serves(EAST) == NEW
    assert deployment.serves(WEST) == OLD
    deployment.set_alarm(WEST, "OK", kind="read-errors")
    assert main(deployment.args()) == 0  # resumes with the second region
    assert deployment.serves(WEST) == NEW


def test_a_rerun_resumes_where_the_interrupted_run_stopped(deployment: Deployment) -> None:
    def interrupt(event: Event) -> None:
        if event.kind == "bake-start" and event.region == WEST:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine(deployment, interrupt).run()
    assert deployment.serves(EAST) == NEW
    assert deployment.serves(WEST) == SPLIT
    shifts: list[tuple[str, int | None]] = []
    rerun = engine(
        deployment, lambda e: shifts.append((e.region, e.share)) if e.kind == "shift" else None
    )
    assert rerun.run() == 1
    assert shifts == [(WEST, 10), (WEST, 100)]  # the first region is not moved again
    assert deployment.serves(WEST) == NEW


def test_status_reads_what_each_region_serves(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(event: Event) -> None:
        if event.kind == "bake-start" and event.region == WEST:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine(deployment, interrupt).run()
    deployment.set_alarm(WEST, "ALARM")
    assert main([*deployment.args(), "--status"]) == 0
    out = printed(capsys.readouterr().out)
    assert out[0].split() == ["region", "function", "serves", "newest", "state"]
    rows = {tuple(line.split()[:2]): line for line in out[1:7]}
    assert rows[(EAST, "register")].split()[2:4] == ["2", "2"]
    assert "up to date; before the rollout: 1" in rows[(EAST, "register")]
    assert rows[(WEST, "read")].split()[2:8] == ["1", "(90", "%)", "+", "2", "(10"]
    assert "rollout in progress: 10 % on 2 (run again to resume)" in rows[(WEST, "read")]
    assert f"  {EAST}: 4 OK, 0 ALARM, 0 without data" in out
    assert f"  {WEST}: 3 OK, 1 ALARM, 0 without data ({deployment.alarm(WEST)})" in out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_leaves_a_resumable_rollout_and_exits_130(
    deployment: Deployment, aws_env: dict[str, str], signum: signal.Signals
) -> None:
    command = [sys.executable, "-m", "rollout", *deployment.args(bake="30")]
    child = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **aws_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    for line in child.stdout:
        if line.startswith(f"[{EAST}] step 1/2 (10 %): 10 %") or time.monotonic() > deadline:
            break
    time.sleep(0.5)  # into the bake
    child.send_signal(signum)  # SIGTERM: what a cancelled CI job gets after SIGINT
    try:
        _, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        raise
    assert child.returncode == 130
    assert err.strip().splitlines() == [
        f"interrupted {EAST} step 1/2 (10 %): every alias is where its last step put it; run "
        "again to resume, or --rollback to return to the versions served before"
    ]
    assert deployment.serves(EAST) == SPLIT
    assert deployment.serves(WEST) == OLD
    assert main(deployment.args()) == 0
    assert deployment.serves(EAST) == deployment.serves(WEST) == NEW


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--region", "eu-west-1"],
            "error: --region eu-west-1 is not a region of this deployment (us-east-1, us-west-2)",
        ),
        (
            ["--region-endpoint", "eu-west-1=http://127.0.0.1:1"],
            "error: --region-endpoint: eu-west-1 is not a region of this deployment",
        ),
        (
            ["--region-endpoint", "us-west-2=ftp://x"],
            "error: --region-endpoint us-west-2 must be an http:// or https:// URL with a host, "
            "not 'ftp://x'",
        ),
    ],
)
def test_bad_arguments_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_document("bad-args", {})))
    assert main(["--outputs-file", str(path), *extra]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [expected]


def test_a_bake_time_out_of_bounds_gets_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bake-seconds", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: argument --bake-seconds: must be more than 0 and at most 3600, not 0 (see --help)"
    ]


def test_missing_credentials_get_one_line(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(deployment.args()) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: no AWS credentials found: sign in")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert deployment.serves(EAST) == OLD


def test_outputs_of_an_all_at_once_stack_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"us_east_1_endpoint": {"value": "https://x.example/v1"}}))
    assert main(["--outputs-file", str(outputs)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: {outputs} has no rollout_settings output: the stack was deployed with"
    )
    assert main([]) == 2
    assert capsys.readouterr().err.startswith("error: say where the deployment is:")


def test_region_option_rolls_out_only_that_region(deployment: Deployment) -> None:
    assert main([*deployment.args(), "--region", WEST]) == 0
    assert deployment.serves(EAST) == OLD
    assert deployment.serves(WEST) == NEW
    assert REGIONS == (EAST, WEST)
