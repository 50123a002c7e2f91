"""The WSGI layer in front of the emulator: one request at a time, the call log, then the shims."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from rehearsal.call_log import CallLog
from rehearsal.shims.autoscaling import ScalableTargetTags
from rehearsal.shims.core import (
    Counts,
    Emulator,
    Environ,
    Gap,
    Reply,
    Request,
    Shim,
    StartResponse,
    WsgiApp,
    read_body,
    send,
)
from rehearsal.shims.dynamodb import ReplayedLockPut, TableReplicas
from rehearsal.shims.kms import ReplicaKeySettings
from rehearsal.shims.lambda_functions import (
    LoggingConfigs,
    ProvisionedConcurrency,
    ReplayedLambdaPost,
)
from rehearsal.shims.replay import ReplayedJsonCreate
from rehearsal.shims.route53 import TrafficPolicies
from rehearsal.shims.s3 import BucketPolicies
from rehearsal.shims.xray import SamplingRules

SERIAL_GAP = Gap(
    resource="aws_lambda_alias (three regions)",
    call="concurrent lambda CreateAlias for same-named functions in several regions",
    emulator="under concurrent requests one CreateAlias was answered 409 "
    "'Alias already exists' in a region that had no alias yet (seen in one of the "
    "first two three-region runs)",
    handling="the shim layer passes one request at a time to the emulator "
    "(Terraform still sends them in parallel)",
)

# In the order they are asked: the first that claims a request answers it; LoggingConfigs
# passes Lambda POSTs on to ReplayedLambdaPost.
SHIMS: tuple[type[Shim], ...] = (
    ScalableTargetTags,
    TableReplicas,
    ReplicaKeySettings,
    ReplayedJsonCreate,
    ReplayedLockPut,
    SamplingRules,
    ProvisionedConcurrency,
    LoggingConfigs,
    ReplayedLambdaPost,
    TrafficPolicies,
    BucketPolicies,
)


class EmulatorShims:
    """WSGI middleware: answers or completes the calls listed in GAPS, passes the rest on."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        # One request at a time reaches the emulator (SERIAL_GAP).
        self._serial = threading.Lock()
        self._counts = Counts()
        self._emulator = Emulator(app)
        self._shims = tuple(shim(self._emulator, self._counts) for shim in SHIMS)
        # EPOCH_REHEARSAL_CALL_LOG: one line per request (rehearsal/call_log.py).
        self._call_log = CallLog.from_environment(os.environ)

    @property
    def shimmed_calls(self) -> dict[str, int]:
        """How often each shimmed call was answered or completed, by name."""
        return self._counts.by_name

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not status.startswith(("2", "3")):
                # The emulator's own log shows only the URL; say which call was refused.
                print(
                    f"emulator answered {status}: {environ.get('REQUEST_METHOD')} "
                    f"{environ.get('PATH_INFO')} {environ.get('HTTP_X_AMZ_TARGET', '')}",
                    file=sys.stderr,
                    flush=True,
                )
            return start_response(status, headers, exc_info)

        with self._serial:
            if self._call_log is not None:
                self._call_log.record(environ, read_body(environ))
            reply = self._answer(Request(environ), self._shims)
            if reply is None:
                return list(self._app(environ, start))
            return send(start, reply)

    def _answer(self, request: Request, shims: Sequence[Shim]) -> Reply | None:
        """The first shim's answer that claims `request`; None: no shim changes it."""
        for index, shim in enumerate(shims):
            if shim.claims(request):
                rest = shims[index + 1 :]
                return shim.answer(request, functools.partial(self._forward, shims=rest))
        return None

    def _forward(self, request: Request, shims: Sequence[Shim]) -> Reply:
        reply = self._answer(request, shims)
        return reply if reply is not None else self._emulator.forward(request.environ)
