"""checkov scans for the test gates, all from one process that imports checkov once.

Why: a `checkov` process spends about 2 s of CPU importing checkov before it
scans anything, and the session's gates run four scans (tests/infra/test_checkov.py,
tests/test_workflows.py). Here one server process (`python -m tests.checkov_scans`,
started on the first scan) imports checkov once and forks a child for each scan.
The child starts from the state right after the import, as a new `checkov`
process does, runs checkov's own command-line entry point with the scan's
arguments in the scan's folder, and ends with checkov's exit code; its stdout
and stderr go to files the caller reads.

One process running the scans one after another would not do: checkov's
runners and check registries are module-level objects that keep state between
runs (tried: the second scan's report held results of the first). A forked
child shares nothing back with the server.

Protocol: the client writes one JSON request a line to the server's stdin,
`{"id", "cwd", "args", "stdout", "stderr"}`; the server answers with one line
`{"id", "returncode"}` when that scan's child has ended (a child killed by a
signal gets the negative signal number, as `subprocess` reports it). The
server ends when its stdin closes and its children have ended.

Linux and macOS only (`os.fork`), like the rest of the test tooling.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCAN_TIMEOUT = 600  # seconds, as the gates' subprocess runs had


@dataclass(frozen=True)
class Result:
    """What a `checkov` process with the same arguments would have given."""

    returncode: int
    stdout: str
    stderr: str


class _Server:
    """The client side: one server process, scans sent from any thread."""

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="checkov-scans-"))
        self._log_path = self._folder / "server.log"
        self._log = self._log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.checkov_scans"],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._pending: dict[int, Future[int]] = {}
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, name="checkov-scans", daemon=True)
        self._reader.start()

    def scan(self, cwd: Path, args: list[str]) -> Result:
        done: Future[int] = Future()
        with self._lock:
            scan_id = self._next_id
            self._next_id += 1
            self._pending[scan_id] = done
            stdout = self._folder / f"{scan_id}.stdout"
            stderr = self._folder / f"{scan_id}.stderr"
            request = {
                "id": scan_id,
                "cwd": str(cwd),
                "args": args,
                "stdout": str(stdout),
                "stderr": str(stderr),
            }
            stdin = self._process.stdin
            assert stdin is not None
            try:
                stdin.write(json.dumps(request).encode() + b"\n")
                stdin.flush()
            except (BrokenPipeError, ValueError):
                del self._pending[scan_id]
                raise RuntimeError(
                    f"the checkov scan server has ended: {self._log_tail()}"
                ) from None
        returncode = done.result(timeout=SCAN_TIMEOUT)
        return Result(returncode, _take(stdout), _take(stderr))

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            answer = json.loads(line)
            with self._lock:
                done = self._pending.pop(answer["id"])
            done.set_result(answer["returncode"])
        self._process.wait()
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for done in pending:
            done.set_exception(
                RuntimeError(
                    f"the checkov scan server ended (exit {self._process.returncode}) "
                    f"before the scan did: {self._log_tail()}"
                )
            )

    def _log_tail(self) -> str:
        self._log.flush()
        return f"{self._log_path}: {self._log_path.read_text(errors='replace')[-2000:]}"

    def close(self) -> None:
        """Let the server end once its scans have; stop it if it has not within a minute."""
        with contextlib.suppress(OSError, ValueError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._reader.join(timeout=10)
        self._log.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _take(path: Path) -> str:
    """The file's text, then removes it; "" if the child never wrote it."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    path.unlink()
    return text


_SERVER: list[_Server] = []
_SERVER_LOCK = threading.Lock()


def run(cwd: Path, *args: str) -> Result:
    """`checkov *args` run in `cwd`, through the shared server (started on first use)."""
    with _SERVER_LOCK:
        if not _SERVER:
            _SERVER.append(_Server())
            atexit.register(close)
        server = _SERVER[0]
    return server.scan(cwd, list(args))


def close() -> None:
    """End the shared server, if one was started (waits for its running scans)."""
    with _SERVER_LOCK:
        if _SERVER:
            _SERVER.pop().close()


# The server side.


def _scan_in_child(request: dict[str, Any]) -> int:
    """In the forked child: one scan, as `checkov` (the console script) runs it."""
    import warnings

    from checkov.main import Checkov

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        target = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    os.chdir(request["cwd"])
    sys.argv = ["checkov", *request["args"]]
    code: Any
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=SyntaxWarning)
            code = Checkov(request["args"]).run()
    except SystemExit as stop:
        code = stop.code
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, exit 1
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    return code or 0


def _child(request: dict[str, Any]) -> NoReturn:
    code = 1
    try:
        code = _scan_in_child(request)
    except BaseException:  # noqa: BLE001 - the server must never run on in a child
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve(requests: IO[bytes], answers: int) -> None:
    import checkov.main  # noqa: F401 - the import every scan's child starts from

    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    children: dict[int, int] = {}  # pid -> request id
    buffered = b""
    open_input = True
    while open_input or children:
        watched = [wakeup_read, requests.fileno()] if open_input else [wakeup_read]
        ready, _, _ = select.select(watched, [], [], 1.0)
        if wakeup_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wakeup_read, 4096):
                    pass
        if open_input and requests.fileno() in ready:
            chunk = os.read(requests.fileno(), 65536)
            open_input = bool(chunk)
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(request)
                children[pid] = request["id"]
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer = {"id": children.pop(pid), "returncode": os.waitstatus_to_exitcode(status)}
            os.write(answers, json.dumps(answer).encode() + b"\n")


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.fileno())
    os._exit(0)  # no interpreter teardown of checkov's modules
