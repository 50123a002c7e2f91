"""`python -m local_api` (pipenv run local) as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from local_api.__main__ import parse_args
from local_api.dynalite import PROJECT_ROOT, Dynalite, free_port, holders_of, port_in_use
from local_api.server import DEFAULT_READ_TIMEOUT_SECONDS
from tests.entry_points import run_entry_point

pytestmark = pytest.mark.slow


def local_mode(*args: str, stderr_path: Path) -> subprocess.Popen[bytes]:
    with stderr_path.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "local_api", *args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )


def wait_for_banner(process: subprocess.Popen[bytes], stderr_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = stderr_path.read_text()
        if "Ctrl-C" in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"local mode exited early ({process.returncode}): {text}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("local mode did not start within 30 s")


@contextmanager
def running(tmp_path: Path, port: int, data_dir: Path) -> Iterator[tuple[str, str]]:
    """Yield (api url, dynalite port) of a running local mode; Ctrl-C it afterwards."""
    stderr_path = tmp_path / f"stderr-{time.monotonic_ns()}.txt"
    process = local_mode("--port", str(port), "--data-dir", str(data_dir), stderr_path=stderr_path)
    try:
        banner = wait_for_banner(process, stderr_path)
        dynalite_port = banner.split("dynalite at http://127.0.0.1:")[1].split(",")[0]
        yield f"http://127.0.0.1:{port}", dynalite_port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            stdout, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    stderr = stderr_path.read_text()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith("stopped")
    assert not port_in_use("127.0.0.1", int(dynalite_port)), "dynalite still running"
    assert not port_in_use("127.0.0.1", port)
    logs = [json.loads(line) for line in stdout.decode().splitlines()]
    assert logs, "no access logs"
    assert all(entry["request_id"] for entry in logs)


def test_local_mode_serves_stops_on_ctrl_c_and_keeps_its_data(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "local-data"
    with running(tmp_path, port, data_dir) as (url, _):
        created = requests.post(f"{url}/EpochRegisterTime", timeout=10)
        assert created.status_code == 201
        registration = created.json()
        assert requests.get(f"{url}/health", timeout=10).json()["status"] == "ok"
        spec = requests.get(f"{url}/openapi.json", timeout=10).json()
        assert spec["openapi"].startswith("3.0.")
    assert (data_dir / "CURRENT").exists(), "dynalite did not keep its data in the folder"

    with running(tmp_path, port, data_dir) as (url, _):
        again = requests.get(f"{url}/getEpoch/{registration['id']}", timeout=10)
        listed = requests.get(f"{url}/getEpoch", timeout=10).json()
    assert again.status_code == 200
    assert again.json() == registration
    assert listed["items"] == [registration]


def run_to_exit(*args: str, tmp_path: Path) -> tuple[int, str]:
    stderr_path = tmp_path / "stderr.txt"
    process = local_mode(*args, stderr_path=stderr_path)
    process.communicate(timeout=30)
    return process.returncode, stderr_path.read_text()


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, stderr = run_to_exit(
            "--port", str(port), "--data-dir", str(tmp_path / "d"), tmp_path=tmp_path
        )
    assert code == 1
    assert stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use: "
        "stop whatever listens there or choose another port with --port"
    )
    assert not (tmp_path / "d").exists(), "dynalite was started anyway"


def test_missing_node_modules_says_to_run_npm_ci(tmp_path: Path) -> None:
    code, stderr = run_to_exit(
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "d"),
        "--node-modules",
        str(tmp_path / "node_modules"),
        tmp_path=tmp_path,
    )
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1
    assert stderr.startswith("error: dynalite is not installed")
    assert "run `npm ci`" in stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--port", "abc"],
            "error: argument --port: abc is not a TCP port: choose one from 1 to 65535 "
            "(see --help)",
        ),
        (["--bogus"], "error: unrecognized arguments: --bogus (see --help)"),
        *(
            (
                ["--read-timeout", value],
                f"error: argument --read-timeout: {value} is not a number of seconds above 0 "
                "and at most 3600 (see --help)",
            )
            for value in ("0", "-1", "nan", "abc", "3601")
        ),
    ],
)
def test_a_bad_argument_is_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    code, stderr = run_to_exit(*args, "--data-dir", str(tmp_path / "d"), tmp_path=tmp_path)
    assert code == 2
    assert stderr == expected + "\n"
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("data_dir", ["d", "d/data"])
def test_a_data_dir_that_is_a_file_says_so(tmp_path: Path, data_dir: str) -> None:
    (tmp_path / "d").write_text("not a folder")
    code, stderr = run_to_exit(
        "--port", str(free_port()), "--data-dir", str(tmp_path / data_dir), tmp_path=tmp_path
    )
    assert code == 1
    assert stderr == (
        f"error: cannot use {tmp_path / data_dir} as dynalite's data folder: "
        f"{tmp_path / 'd'} is a file; choose a folder with --data-dir\n"
    )


def test_the_read_timeout_option_reaches_the_server() -> None:
    assert parse_args([]).read_timeout == DEFAULT_READ_TIMEOUT_SECONDS == 10
    assert parse_args(["--read-timeout", "2.5"]).read_timeout == 2.5


def test_a_bad_shard_count_is_a_usage_error(tmp_path: Path) -> None:
    code, stderr = run_to_exit(
        "--list-shards", "0", "--data-dir", str(tmp_path / "d"), tmp_path=tmp_path
    )
    assert code == 2
    assert "--list-shards: must be an integer from 1 to 16, not '0'" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "d").exists(), "dynalite was started anyway"


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_a_port_out_of_range_is_a_one_line_error(tmp_path: Path, port: str) -> None:
    code, stderr = run_to_exit("--port", port, "--data-dir", str(tmp_path / "d"), tmp_path=tmp_path)
    # An argument error, as every other: exit 2.
    assert code == 2
    assert stderr.strip() == (
        f"error: argument --port: {port} is not a TCP port: choose one from 1 to 65535 (see --help)"
    )
    assert not (tmp_path / "d").exists(), "dynalite was started anyway"


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_dynalite_dies_with_a_hard_killed_local_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "local-data"
    stderr_path = tmp_path / "stderr.txt"
    process = local_mode(
        "--port", str(free_port()), "--data-dir", str(data_dir), stderr_path=stderr_path
    )
    wait_for_banner(process, stderr_path)
    (dynalite_pid,) = children_of(process.pid)
    process.kill()  # SIGKILL: no atexit, no finally
    process.wait(10)
    deadline = time.monotonic() + 10
    while alive(dynalite_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(dynalite_pid), "dynalite outlived its parent"
    # The data folder is free again: the next local mode starts on it.
    with running(tmp_path, free_port(), data_dir) as (url, _):
        assert requests.get(f"{url}/health", timeout=10).status_code == 200


def test_a_held_data_folder_names_the_process_and_how_to_stop_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "local-data"
    with Dynalite(data_dir) as holder:
        code, stderr = run_to_exit(
            "--port", str(free_port()), "--data-dir", str(data_dir), tmp_path=tmp_path
        )
        holder_pid = holder.pid
    assert code == 1
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"error: dynalite could not open its data folder {data_dir}")
    if Path("/proc").is_dir():
        assert f"another dynalite (process {holder_pid}) holds it" in line
        assert f"`kill {holder_pid}`" in line


def test_outside_the_projects_environment_is_one_line_saying_what_to_run() -> None:
    """`python -m local_api` with an interpreter that lacks the packages (-S: no site-packages)."""
    result = run_entry_point("local_api", cwd=PROJECT_ROOT, flags=["-S"], timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: the Python package 'botocore' is not installed for {sys.executable}: "
        "run `pipenv sync` in the project folder, then `pipenv run local`\n"
    )


def test_dynalite_dying_stops_local_mode_with_one_line(tmp_path: Path) -> None:
    """Not 503 `unavailable` for every request from then on, with nothing saying why."""
    data_dir = tmp_path / "d"
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    process = local_mode("--port", str(port), "--data-dir", str(data_dir), stderr_path=stderr_path)
    try:
        wait_for_banner(process, stderr_path)
        (dynalite_pid,) = holders_of(data_dir / "LOCK")
        os.kill(dynalite_pid, signal.SIGKILL)
        process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1
    last = stderr_path.read_text().splitlines()[-1]
    assert last == (
        f"error: dynalite (process {dynalite_pid}) ended (killed by signal 9): "
        "local mode stopped; start it again with `pipenv run local`"
    )
    assert not port_in_use("127.0.0.1", port)
