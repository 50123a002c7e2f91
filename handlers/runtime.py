"""Per-container wiring: settings from the environment, DynamoDB clients, handlers.

The entry modules (one per function of contract.FUNCTION_HANDLERS) call these
once, at module scope; local mode and the tests call them with explicit settings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from handlers import api, auth, contract, routes, store

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a function needs to know about its deployment."""

    table_name: str
    region: str
    force_unhealthy: bool = False
    # Only in local mode and tests (DynamoDB-compatible server on loopback).
    endpoint_url: str | None = None
    health_cache_seconds: float = contract.HEALTH_CACHE_SECONDS
    list_shards: int = contract.LIST_SHARDS_DEFAULT
    retention_days: int = 0
    auth_mode: str = auth.AUTH_NONE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        table_name = env.get(contract.ENV_TABLE_NAME, "")
        if not table_name:
            raise RuntimeError(f"environment variable {contract.ENV_TABLE_NAME} is not set")
        force = env.get(contract.ENV_FORCE_UNHEALTHY, "").strip().lower()
        if force not in _TRUE + _FALSE:
            raise RuntimeError(
                f"{contract.ENV_FORCE_UNHEALTHY} must be true or false, not {force!r}"
            )
        shards = env.get(contract.ENV_LIST_SHARDS, "").strip() or str(contract.LIST_SHARDS_DEFAULT)
        try:
            list_shards = contract.parse_list_shards(shards)
        except ValueError as exc:
            raise RuntimeError(f"{contract.ENV_LIST_SHARDS} {exc}") from None
        retention = env.get(contract.ENV_RETENTION_DAYS, "").strip() or "0"
        try:
            retention_days = contract.parse_retention_days(retention)
        except ValueError as exc:
            raise RuntimeError(f"{contract.ENV_RETENTION_DAYS} {exc}") from None
        auth_mode = env.get(auth.ENV_AUTH_MODE, "").strip() or auth.AUTH_NONE
        if auth_mode not in auth.AUTH_MODES:
            raise RuntimeError(
                f"{auth.ENV_AUTH_MODE} must be one of {', '.join(auth.AUTH_MODES)}, "
                f"not {auth_mode!r}"
            )
        return cls(
            table_name=table_name,
            # The Lambda runtime always sets AWS_REGION; local mode does too.
            region=env.get(contract.ENV_REGION) or "us-east-1",
            force_unhealthy=force in _TRUE,
            endpoint_url=env.get(contract.ENV_DYNAMODB_ENDPOINT) or None,
            list_shards=list_shards,
            retention_days=retention_days,
            auth_mode=auth_mode,
        )


def _client(settings: Settings, *, connect: float, read: float, attempts: int) -> Any:
    local = settings.endpoint_url is not None
    config = Config(
        connect_timeout=connect,
        read_timeout=read,
        # `total_max_attempts` counts the first attempt; botocore's `max_attempts` does not.
        retries={"total_max_attempts": attempts, "mode": "standard"},
        max_pool_connections=(
            contract.LOCAL_MAX_POOL_CONNECTIONS if local else contract.SDK_MAX_POOL_CONNECTIONS
        ),
    )
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": config}
    if local:
        # A local server never sees the developer's real credentials.
        kwargs.update(
            endpoint_url=settings.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - not a secret: dynalite ignores it
        )
    return boto3.client("dynamodb", **kwargs)


def data_client(settings: Settings) -> Any:
    """Client for registrations and reads (worst case contract.SDK_WORST_CASE_SECONDS)."""
    return _client(
        settings,
        connect=contract.SDK_CONNECT_TIMEOUT_SECONDS,
        read=contract.SDK_READ_TIMEOUT_SECONDS,
        attempts=contract.SDK_MAX_ATTEMPTS,
    )


def health_client(settings: Settings) -> Any:
    """Tighter client for GET /health (worst case contract.HEALTH_WORST_CASE_SECONDS)."""
    return _client(
        settings,
        connect=contract.HEALTH_CONNECT_TIMEOUT_SECONDS,
        read=contract.HEALTH_READ_TIMEOUT_SECONDS,
        attempts=contract.HEALTH_MAX_ATTEMPTS,
    )


def build_routes(
    function: str,
    settings: Settings,
    client: Any,
    *,
    now_ms: Callable[[], int] = routes.now_ms,
) -> dict[str, api.RouteFunction]:
    """The route functions (by operation id) one Lambda function serves."""
    if function == "health":
        check = routes.HealthCheck(
            functools.partial(store.probe, client, settings.table_name),
            ttl=settings.health_cache_seconds,
        )
        return {
            contract.ROUTE_HEALTH.operation_id: functools.partial(
                routes.health,
                check=check,
                region=settings.region,
                force_unhealthy=settings.force_unhealthy,
            )
        }
    deps = routes.Deps(
        client,
        settings.table_name,
        settings.region,
        now_ms,
        settings.list_shards,
        settings.retention_days,
        auth_required=settings.auth_mode != auth.AUTH_NONE,
    )
    table: dict[str, Callable[..., api.Response]] = {
        contract.ROUTE_REGISTER.operation_id: routes.register_epoch,
        contract.ROUTE_LIST.operation_id: routes.list_epochs,
        contract.ROUTE_GET_ONE.operation_id: routes.get_epoch,
    }
    return {
        route.operation_id: functools.partial(table[route.operation_id], deps=deps)
        for route in contract.ROUTES
        if route.function == function
    }


def make_handler(
    function: str,
    settings: Settings,
    client: Any,
    *,
    now_ms: Callable[[], int] = routes.now_ms,
) -> api.LambdaHandler:
    """A Lambda handler `(event, context) -> response` for one function."""
    if function not in contract.FUNCTION_HANDLERS:
        raise ValueError(f"unknown function {function!r}")
    served = build_routes(function, settings, client, now_ms=now_ms)
    return functools.partial(_handle, served=served, function=function)


def _handle(
    event: api.LambdaEvent,
    context: Any,
    *,
    served: Mapping[str, api.RouteFunction],
    function: str,
) -> dict[str, Any]:
    return api.dispatch(event, context, served, function=function)


def make_handlers(
    settings: Settings,
    data: Any,
    health: Any,
    *,
    now_ms: Callable[[], int] = routes.now_ms,
) -> dict[str, api.LambdaHandler]:
    """Every function's handler as its Lambda builds it: the health function on the
    tight health client, the others on the data client."""
    return {
        function: make_handler(
            function,
            settings,
            health if function == contract.ROUTE_HEALTH.function else data,
            now_ms=now_ms,
        )
        for function in contract.FUNCTION_HANDLERS
    }
