"""Plain HTTP clients for the service tests, and the load runs' clients as a process.

Stdlib only (and the contract), so that `python -m tests.service.clients` starts fast:

    python -m tests.service.clients register URL REGISTRATIONS CLIENTS
    python -m tests.service.clients retry URL CLIENTS < keys

`register` sends REGISTRATIONS `POST /EpochRegisterTime` over CLIENTS keep-alive
connections at once and prints one JSON object: the ids of the 201 answers and the
count of any other status. `retry` registers each key (one a line) with its
Idempotency-Key, retrying on a lost answer (up to 5 attempts), and prints each
key's final status and body and how often it was retried.

The load tests run them apart from the server under test: in the same process,
32 client threads compete with the server's threads for the GIL, which costs
more CPU than the clients themselves.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from handlers import contract


def connect(url: str, timeout: float = 10) -> http.client.HTTPConnection:
    """A raw HTTP/1.1 connection to a service URL (for requests `requests` cannot send)."""
    target = urlsplit(url)
    return http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=timeout)


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (far cheaper per request than `requests`,
    which matters when 32 clients share two cores with the server and dynalite)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection = connect(url, timeout=30)

    def request(
        self, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; a connection failure raises OSError (http.client errors)
        and the next request reconnects."""
        try:
            self._connection.request(method, path, headers=dict(headers or {}))
            response = self._connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            self._connection = connect(self.url, timeout=30)
            raise
        return response.status, dict(response.getheaders()), body

    def close(self) -> None:
        self._connection.close()


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Run `target(i)` in `count` threads; re-raise the first failure."""
    errors: list[BaseException] = []

    def wrapped(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def register_concurrently(url: str, registrations: int, clients: int) -> dict[str, object]:
    """`registrations` POSTs over `clients` connections at once: 201 ids, other statuses."""
    lock = threading.Lock()
    remaining = [registrations]
    acknowledged: list[str] = []
    other_statuses: Counter[int] = Counter()

    def client(_index: int) -> None:
        http = KeepAliveClient(url)
        try:
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                status, _, body = http.request("POST", "/EpochRegisterTime")
                with lock:
                    if status == 201:
                        acknowledged.append(json.loads(body)["id"])
                    else:
                        other_statuses[status] += 1
        finally:
            http.close()

    run_threads(clients, client)
    return {"acknowledged": acknowledged, "other_statuses": dict(other_statuses)}


def register_with_retries(url: str, keys: list[str], clients: int) -> dict[str, object]:
    """Each key once with its Idempotency-Key over `clients` connections, retried (up to
    5 attempts) when the answer is lost: final status and body per key, retries per key."""
    lock = threading.Lock()
    queue = list(keys)
    results: dict[str, tuple[int, object]] = {}
    retries: Counter[str] = Counter()

    def client(_index: int) -> None:
        connection = KeepAliveClient(url)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    key = queue.pop()
                for _attempt in range(5):
                    try:
                        status, _, body = connection.request(
                            "POST", "/EpochRegisterTime", {contract.IDEMPOTENCY_HEADER: key}
                        )
                    except (OSError, http.client.HTTPException):
                        with lock:
                            retries[key] += 1
                        continue
                    with lock:
                        results[key] = (status, json.loads(body))
                    break
        finally:
            connection.close()

    run_threads(clients, client)
    return {"results": results, "retries": dict(retries)}


def main(argv: list[str]) -> int:
    mode, url, *numbers = argv
    if mode == "register":
        outcome = register_concurrently(url, int(numbers[0]), int(numbers[1]))
    else:
        keys = sys.stdin.read().split()
        outcome = register_with_retries(url, keys, int(numbers[0]))
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
