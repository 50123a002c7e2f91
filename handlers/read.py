"""Lambda entry point of the `read` function: GET /getEpoch and GET /getEpoch/{id}."""

from __future__ import annotations

import os
from typing import Any

from handlers.runtime import Settings, data_client, make_handler

# Once per container: settings, client (timeouts and retries set explicitly), routes.
SETTINGS = Settings.from_env(os.environ)
CLIENT = data_client(SETTINGS)
_HANDLE = make_handler("read", SETTINGS, CLIENT)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _HANDLE(event, context)
