"""Lambda entry point of the `health` function: GET /health (Route 53 health checks)."""

from __future__ import annotations

import os
from typing import Any

from handlers.runtime import Settings, health_client, make_handler

# Once per container: settings, the tight health client, the cached probe.
SETTINGS = Settings.from_env(os.environ)
CLIENT = health_client(SETTINGS)
_HANDLE = make_handler("health", SETTINGS, CLIENT)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _HANDLE(event, context)
