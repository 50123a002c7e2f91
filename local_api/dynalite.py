"""dynalite (npm) as a child process: find it, start it on a loopback port, stop it.

Also creates the service table with the infrastructure's key schema
(`handlers.contract.create_table_request`), so local mode and the tests use
the same table definition as the deployed global table.
"""

from __future__ import annotations

import atexit
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers import contract

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = PROJECT_ROOT / "node_modules"
# Makes dynalite exit when its parent process dies (see the file).
PARENT_WATCH = Path(__file__).resolve().parent / "parent_watch.js"
LOOPBACK = "127.0.0.1"


class DynaliteError(RuntimeError):
    """dynalite is missing or did not start; the message says what to do."""


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def find_cli(node_modules: Path = NODE_MODULES) -> Path:
    """dynalite's cli.js inside node_modules, or a DynaliteError saying to run npm ci."""
    launcher = node_modules / ".bin" / "dynalite"
    cli = node_modules / "dynalite" / "cli.js"
    if not launcher.exists() or not cli.is_file():
        raise DynaliteError(
            f"dynalite is not installed in {node_modules}: run `npm ci` in {PROJECT_ROOT}"
        )
    return cli


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise DynaliteError("Node.js is not on PATH: install Node.js 20+ (dynalite runs on it)")
    return node


class Dynalite:
    """One dynalite server process on a loopback port.

    `data_dir` None keeps the data in memory; a folder makes it survive a
    restart (LevelDB). `port` None picks a free port.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        host: str = LOOPBACK,
        node_modules: Path = NODE_MODULES,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.node_modules = node_modules
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynaliteError("dynalite has not been started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self) -> int:
        """Block until the started dynalite ends on its own; its exit code (-N: signal N)."""
        assert self._process is not None, "dynalite was not started"
        return self._process.wait()

    def start(self, timeout: float = 20.0) -> Dynalite:
        """Start and wait until it answers HTTP. Restarts on the same port and folder."""
        if self.running:
            return self
        cli = find_cli(self.node_modules)
        node = find_node()
        if self.data_dir is not None:
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                in_the_way = (self.data_dir, *self.data_dir.parents)
                file = next((p for p in in_the_way if p.is_file()), self.data_dir)
                raise DynaliteError(
                    f"cannot use {self.data_dir} as dynalite's data folder: "
                    f"{file} is a file; choose a folder with --data-dir"
                ) from None
            except OSError as exc:
                raise DynaliteError(
                    f"cannot use {self.data_dir} as dynalite's data folder: {exc.strerror}"
                ) from None
        chosen = self.port is not None
        for _attempt in range(3):
            port = self.port if self.port is not None else free_port(self.host)
            if chosen and port_in_use(self.host, port):
                raise DynaliteError(f"cannot start dynalite: port {port} is already in use")
            self._launch(node, cli, port)
            # Node takes a moment to boot: build the client for the readiness check
            # (importing boto3 and loading its DynamoDB model) in the meantime.
            checker = admin_client(f"http://{self.host}:{port}", attempts=1)
            try:
                self._wait_ready(port, timeout, checker)
            except _PortTakenError:
                if chosen:
                    raise DynaliteError(
                        f"cannot start dynalite: port {port} is already in use"
                    ) from None
                continue  # someone took the free port in between: pick another
            self.port = port
            # Never leave an orphan server behind if the caller dies without stop().
            atexit.register(self.stop)
            return self
        raise DynaliteError("cannot start dynalite: no free port found")

    def _launch(self, node: str, cli: Path, port: int) -> None:
        command = [
            node,
            "--require",
            str(PARENT_WATCH),
            str(cli),
            "--host",
            self.host,
            "--port",
            str(port),
            # Tables are ACTIVE at once (AWS takes seconds; nothing here waits for it).
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ]
        if self.data_dir is not None:
            command += ["--path", str(self.data_dir)]
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # stdin is a pipe only we hold: when this process dies, dynalite exits too.
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=self._output, stderr=subprocess.STDOUT
        )

    def _output_text(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def _wait_ready(self, port: int, timeout: float, checker: Any) -> None:
        deadline = time.monotonic() + timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                output = self._output_text()
                self._process = None
                if "EADDRINUSE" in output:
                    raise _PortTakenError
                lines = [line.strip() for line in output.splitlines() if line.strip()]
                detail = next(
                    (line for line in lines if "Error" in line or "error" in line),
                    lines[-1] if lines else "no output",
                )
                raise DynaliteError(f"dynalite exited with code {code} at start-up: {detail}")
            if _answers_http(self.host, port):
                self._check_database(checker)
                return
            time.sleep(0.01)
        self.stop()
        raise DynaliteError(f"dynalite did not answer on port {port} within {timeout:.0f} s")

    def _check_database(self, checker: Any) -> None:
        """dynalite listens before its LevelDB store opens: make one real call."""
        assert self._process is not None
        try:
            checker.list_tables(Limit=1)
        except (ClientError, BotoCoreError):
            try:
                # It exits by itself once the store fails to open; on a loaded
                # machine that takes more than a second or two.
                code = self._process.wait(10)
            except subprocess.TimeoutExpired:
                code = None
            output = self._output_text()
            self.stop()
            hint = (
                _holder_hint(self.data_dir)
                if any(sign in output for sign in _STORE_NOT_OPEN)
                else ""
            )
            raise DynaliteError(
                f"dynalite could not open its data folder {self.data_dir} (exit code {code}){hint}"
            ) from None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate it (SIGTERM, then SIGKILL after `timeout`). Data already written stays."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> Dynalite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# How dynalite dies when a request arrives and its LevelDB store did not open (a
# request that arrives while the open is still pending fails on its iterator).
_STORE_NOT_OPEN = (
    "Database is closed",
    "Database is not open",
    "LEVEL_DATABASE_NOT_OPEN",
    "LEVEL_ITERATOR_NOT_OPEN",
)


class _PortTakenError(Exception):
    pass


def _holder_hint(data_dir: Path | None) -> str:
    """What to tell a user whose data folder another dynalite holds open."""
    pids = sorted(holders_of(data_dir / "LOCK")) if data_dir is not None else []
    if not pids:
        return f": is another dynalite (local mode) using {data_dir}?"
    listed = ", ".join(str(pid) for pid in pids)
    return (
        f": another dynalite (process {listed}) holds it; "
        f"stop it with `kill {' '.join(str(pid) for pid in pids)}` or choose another --data-dir"
    )


def holders_of(path: Path) -> set[int]:
    """PIDs with `path` open (Linux /proc; elsewhere, or without permission, none found)."""
    target = str(path.resolve())
    found: set[int] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    found.add(int(entry.name))
                    break
            except OSError:
                continue
    return found


def _answers_http(host: str, port: int) -> bool:
    """Any HTTP answer to a ListTables call means dynalite is serving."""
    connection = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        connection.request(
            "POST",
            "/",
            body=b"{}",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
            },
        )
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def admin_client(endpoint_url: str, region: str = "us-east-1", *, attempts: int = 3) -> Any:
    """A DynamoDB client for a local server (fake credentials, short timeouts)."""
    # Imported here: local mode starts dynalite before paying for boto3 (see start()).
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - not a secret: dynalite ignores it
        config=Config(
            connect_timeout=2,
            read_timeout=10,
            retries={"total_max_attempts": attempts, "mode": "standard"},
        ),
    )


def ensure_table(endpoint_url: str, table_name: str, region: str = "us-east-1") -> bool:
    """Create the service table unless it exists; True if it was created now."""
    client = admin_client(endpoint_url, region)
    created = True
    try:
        client.create_table(**contract.create_table_request(table_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        created = False
    wait_until_active(client, table_name)
    return created


def wait_until_active(client: Any, table_name: str, timeout: float = 10.0) -> None:
    """Until the table and its indexes are ACTIVE (dynalite flips them just after creating)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = client.describe_table(TableName=table_name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(
            index.get("IndexStatus") == "ACTIVE" for index in indexes
        ):
            return
        time.sleep(0.01)
    raise DynaliteError(f"table {table_name} did not become ACTIVE")
