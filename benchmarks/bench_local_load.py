"""Load on local mode: 32 clients register 5,000 entries; requests/s, p50, p99.

Starts `python -m local_api` (dynalite + the real handlers) on a free port with a
throw-away data folder, drives it from this process over keep-alive HTTP/1.1
connections, counts the table afterwards through the API, and stops it with
Ctrl-C (SIGINT). `--url` drives an already running server instead.

    pipenv run python benchmarks/bench_local_load.py [--clients 32] [--requests 5000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_local_mode(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    stderr_path = data_dir / "local-mode.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_api",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir / "dynalite"),
            ],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the JSON access logs
            stderr=stderr,
        )
    deadline = time.monotonic() + 30
    while "Ctrl-C" not in stderr_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"local mode did not start: {stderr_path.read_text()}")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


def connect(url: str) -> http.client.HTTPConnection:
    target = urlsplit(url)
    return http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)


def run_load(
    url: str, clients: int, total: int
) -> tuple[float, list[float], list[str], dict[int, int]]:
    lock = threading.Lock()
    remaining = [total]
    latencies: list[float] = []
    ids: list[str] = []
    other: dict[int, int] = {}
    start = threading.Barrier(clients + 1)

    def client() -> None:
        connection = connect(url)
        start.wait()
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            began = time.perf_counter()
            connection.request("POST", "/EpochRegisterTime")
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if response.status == 201:
                    ids.append(json.loads(body)["id"])
                else:
                    other[response.status] = other.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, ids, other


def listed_ids(url: str) -> set[str]:
    """Walk GET /getEpoch (100 per page) to count what the table holds."""
    connection = connect(url)
    seen: set[str] = set()
    cursor: str | None = None
    while True:
        path = "/getEpoch?limit=100" + (f"&cursor={cursor}" if cursor else "")
        connection.request("GET", path)
        page = json.loads(connection.getresponse().read())
        seen.update(item["id"] for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            connection.close()
            return seen


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--url", help="an already running local API (default: start one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-local-") as scratch:
        process = None
        url = args.url
        if url is None:
            process, url = start_local_mode(Path(scratch))
        try:
            before = listed_ids(url)
            seconds, latencies, ids, other = run_load(url, args.clients, args.requests)
            stored = listed_ids(url) - before
        finally:
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(30)

    latencies.sort()
    print(f"{args.clients} clients, {args.requests} registrations in {seconds:.1f} s")
    print(f"  throughput  {args.requests / seconds:8.1f} requests/s")
    print(f"  latency p50 {percentile(latencies, 0.50) * 1000:8.1f} ms")
    print(f"  latency p99 {percentile(latencies, 0.99) * 1000:8.1f} ms")
    print(f"  mean        {statistics.fmean(latencies) * 1000:8.1f} ms")
    print(f"  201s {len(ids)}, other statuses {other or 'none'}")
    exact = stored == set(ids) and len(ids) == len(set(ids))
    print(f"  table holds exactly the acknowledged registrations: {exact}")
    return 0 if exact and not other else 1


if __name__ == "__main__":
    sys.exit(main())
