"""Helpers for the service tests: a running service over dynalite, request counting,
and small HTTP proxies that inject faults (throttling, lost acknowledgements)."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from handlers import contract
from handlers.runtime import Settings, data_client, health_client, make_handlers
from local_api.dynalite import admin_client, wait_until_active
from local_api.server import LocalApi
from tests.service.clients import connect

REGION = "eu-central-1"
# Test servers stop often: stop() waits up to one poll of the serving loop.
STOP_POLL_SECONDS = 0.01


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by operation (botocore event hook).

    `before-send` fires once per attempt, so SDK retries count too.
    """

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_send(self, event_name: str, **_kwargs: Any) -> None:
        with self._lock:
            self.counts[event_name.rsplit(".", 1)[-1]] += 1
        # Returning None lets the request go out.

    def take(self) -> Counter[str]:
        """The counts since the last take."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts


@dataclass
class Backend:
    """A local API server and the handlers' DynamoDB clients for one endpoint.

    Long-lived (one per test session): each test gets its own table and freshly
    built handlers (`serve`), so no state leaks between tests.
    """

    api: LocalApi
    endpoint_url: str
    data_client: Any
    health_client: Any
    admin: Any
    data_requests: RequestCounter
    health_requests: RequestCounter

    @classmethod
    def start(
        cls, endpoint_url: str, *, data: Any = None, admin_endpoint_url: str | None = None
    ) -> Backend:
        """`endpoint_url` is where the handlers' clients go (dynalite, or a fault proxy in
        front of it); `admin_endpoint_url` is dynalite itself, for test-side reads."""
        client_settings = Settings(table_name="-", region=REGION, endpoint_url=endpoint_url)
        data = data if data is not None else data_client(client_settings)
        health = health_client(client_settings)
        return cls(
            api=LocalApi({}, port=0, poll_interval=STOP_POLL_SECONDS).start(),
            endpoint_url=endpoint_url,
            data_client=data,
            health_client=health,
            admin=shared_admin_client(admin_endpoint_url or endpoint_url),
            data_requests=RequestCounter(data),
            health_requests=RequestCounter(health),
        )

    def serve(
        self,
        *,
        table_name: str | None = None,
        region: str = REGION,
        health_cache_seconds: float = contract.HEALTH_CACHE_SECONDS,
        force_unhealthy: bool = False,
        list_shards: int = contract.LIST_SHARDS_DEFAULT,
        retention_days: int = 0,
        auth_mode: str = "none",
        owned: bool = False,
    ) -> Service:
        """Build every function's handler as the Lambdas do, for a new table unless one is given."""
        settings = Settings(
            table_name=table_name or new_table(self.admin),
            region=region,
            endpoint_url=self.endpoint_url,
            force_unhealthy=force_unhealthy,
            health_cache_seconds=health_cache_seconds,
            list_shards=list_shards,
            retention_days=retention_days,
            auth_mode=auth_mode,
        )
        self.api.set_handlers(make_handlers(settings, self.data_client, self.health_client))
        self.data_requests.take()
        self.health_requests.take()
        return Service(self, settings, owned=owned)

    def stop(self) -> None:
        self.api.stop()


class Service:
    """The API served locally by the real handlers over one dynalite table."""

    def __init__(self, backend: Backend, settings: Settings, *, owned: bool) -> None:
        self.backend = backend
        self.settings = settings
        self.http = requests.Session()
        self._owned = owned

    @property
    def url(self) -> str:
        return self.backend.api.url

    @property
    def api(self) -> LocalApi:
        return self.backend.api

    @property
    def admin(self) -> Any:
        return self.backend.admin

    @property
    def data_requests(self) -> RequestCounter:
        return self.backend.data_requests

    @property
    def health_requests(self) -> RequestCounter:
        return self.backend.health_requests

    def post(self, path: str = "/EpochRegisterTime", **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kwargs)

    def walk(
        self, limit: int, *, between_pages: Callable[[], None] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Every item of GET /getEpoch, page by page, and the number of pages.

        `between_pages` runs after each page that has a next one."""
        walked: list[dict[str, Any]] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            response = self.get("/getEpoch", params=params)
            assert response.status_code == 200, (pages, response.status_code, response.text)
            page = response.json()
            walked.extend(page["items"])
            pages += 1
            cursor = page["next"]
            if cursor is None:
                return walked, pages
            if between_pages is not None:
                between_pages()

    def stored_ids(self) -> list[str]:
        """Every item id in the table (a test-side Scan; the service never scans)."""
        ids: list[str] = []
        for page in self.admin.get_paginator("scan").paginate(
            TableName=self.settings.table_name, ConsistentRead=True
        ):
            ids.extend(item[contract.HASH_KEY]["S"] for item in page["Items"])
        return ids

    def stored_item(self, item_id: str) -> dict[str, Any] | None:
        result = self.admin.get_item(
            TableName=self.settings.table_name,
            Key={contract.HASH_KEY: {"S": item_id}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = result.get("Item")
        return item

    def stop(self) -> None:
        self.http.close()
        if self._owned:
            self.backend.stop()


_ADMIN_CLIENTS: dict[str, Any] = {}


def shared_admin_client(endpoint_url: str) -> Any:
    """One test-side client per dynalite endpoint (creating boto3 clients costs ~15 ms)."""
    if endpoint_url not in _ADMIN_CLIENTS:
        _ADMIN_CLIENTS[endpoint_url] = admin_client(endpoint_url, REGION)
    return _ADMIN_CLIENTS[endpoint_url]


def new_table(admin: Any) -> str:
    """A fresh table with the infrastructure's schema (`admin`: a client or an endpoint URL)."""
    if isinstance(admin, str):
        admin = shared_admin_client(admin)
    name = f"epochs-{uuid.uuid4().hex[:12]}"
    admin.create_table(**contract.create_table_request(name))
    wait_until_active(admin, name)
    return name


def start_service(
    endpoint_url: str,
    *,
    data: Any = None,
    admin_endpoint_url: str | None = None,
    **serve: Any,
) -> Service:
    """A service with its own server and clients (for non-default clients or settings);
    `serve` takes `Backend.serve`'s options. Stop it with `stop()`."""
    backend = Backend.start(endpoint_url, data=data, admin_endpoint_url=admin_endpoint_url)
    return backend.serve(owned=True, **serve)


# --- Fault-injecting HTTP proxy -------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def dynamodb_operation(self) -> str:
        """`PutItem` etc. from the X-Amz-Target header of a DynamoDB request."""
        return self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


FORWARD = "forward"
# Forward the request, then close the client's connection without the response:
# the upstream did the work but the client never hears about it.
DROP_RESPONSE = "drop-response"
Decision = str | Reply


def throttling_reply() -> Reply:
    """What DynamoDB answers when a request is throttled."""
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
    return Reply(
        400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body).encode("utf-8")
    )


class FaultProxy:
    """An HTTP/1.1 proxy to `target_url` whose `decide(request)` can forward, drop the
    response, or answer itself. Records every request it saw."""

    def __init__(self, target_url: str, decide: Callable[[Incoming], Decision]) -> None:
        self.decide = decide
        self.seen: list[Incoming] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            upstream: http.client.HTTPConnection | None = None

            def finish(self) -> None:
                if self.upstream is not None:
                    self.upstream.close()
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                incoming = Incoming(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                with proxy._lock:
                    proxy.seen.append(incoming)
                decision = proxy.decide(incoming)
                if isinstance(decision, Reply):
                    self._reply(decision)
                    return
                # One upstream connection per client connection (kept alive).
                if self.upstream is None:
                    self.upstream = connect(target_url, timeout=30)
                headers = {k: v for k, v in incoming.headers.items() if k.lower() != "connection"}
                try:
                    self.upstream.request(
                        self.command, self.path, body=incoming.body, headers=headers
                    )
                    answer = self.upstream.getresponse()
                    reply = Reply(answer.status, dict(answer.getheaders()), answer.read())
                except (OSError, http.client.HTTPException):
                    self.upstream.close()
                    self.upstream = None
                    raise
                if decision == DROP_RESPONSE:
                    self.close_connection = True
                    return
                self._reply(reply)

            def _reply(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def operations(self) -> Counter[str]:
        with self._lock:
            return Counter(request.dynamodb_operation for request in self.seen)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
