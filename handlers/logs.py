"""Structured JSON logs: one object per line on stdout, tagged with the request id."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

# Set by the dispatcher for the duration of one request (per thread in local mode).
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

LOGGER_NAME = "epoch_register"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; `extra={"fields": {...}}` adds keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            # Stack traces go to the log only, never into a response.
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class _StdoutHandler(logging.Handler):
    """Write to whatever `sys.stdout` is at emit time (pytest swaps it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
        except (OSError, ValueError):
            self.handleError(record)


def get_logger() -> logging.Logger:
    """The service logger, configured once per process."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime puts its own handler on the root logger: don't log twice.
        logger.propagate = False
    return logger
