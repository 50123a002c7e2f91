"""Start and stop the AWS emulator (moto behind the shims) on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from rehearsal.terraform import stop_process_group

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60.0


class EmulatorError(Exception):
    """The emulator could not be started; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Emulator:
    """`with Emulator(zones={name: id}, log=path) as emu:` serves on `emu.url` until exit."""

    def __init__(self, *, zones: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._zones = zones
        self._log_path = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "rehearsal.emulator_process", "--port", str(self.port)]
        for name, zone_id in self._zones.items():
            command += ["--zone", f"{name}={zone_id}"]
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmulatorError(
                    f"the emulator exited with code {self._process.returncode} at start"
                    f"{self._last_words()}; see {self._log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=2):  # noqa: S310 (http on loopback)
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise EmulatorError(
            f"the emulator did not answer on {self.url} within {READY_TIMEOUT_SECONDS:.0f} s; "
            f"see {self._log_path}"
        )

    def _last_words(self) -> str:
        """The process's own `error:` line, if its log ends with one."""
        lines = self._log_path.read_text(errors="replace").strip().splitlines()
        if lines and lines[-1].startswith("error: "):
            return f": {lines[-1].removeprefix('error: ')}"
        return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop_process_group(process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
