"""Lambda entry point of the `register` function: POST /EpochRegisterTime."""

from __future__ import annotations

import os
from typing import Any

from handlers.runtime import Settings, data_client, make_handler

# Once per container: settings, client (timeouts and retries set explicitly), routes.
SETTINGS = Settings.from_env(os.environ)
CLIENT = data_client(SETTINGS)
_HANDLE = make_handler("register", SETTINGS, CLIENT)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _HANDLE(event, context)
