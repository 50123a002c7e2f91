"""Lambda: retried POSTs, the functions' logging configuration, provisioned concurrency."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from rehearsal.shims.core import (
    Counts,
    Emulator,
    Forward,
    Gap,
    Reply,
    Request,
    Shim,
    rest_json_reply,
)
from rehearsal.shims.replay import ReplayKey, ReplayShim

_FUNCTIONS = re.compile(r"^/2015-03-31/functions/?(?P<name>[^/]*)(?P<rest>/.*)?$")
_PROVISIONED = re.compile(r"^/2019-09-30/functions/(?P<function>[^/]+)/provisioned-concurrency$")


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from its name, partial or full ARN (qualifier dropped)."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _functions_call(request: Request) -> re.Match[str] | None:
    if request.service != "lambda":
        return None
    return _FUNCTIONS.match(request.path)


class ReplayedLambdaPost(ReplayShim):
    """A retried Lambda POST (CreateAlias, AddPermission, ...) gets the first answer again."""

    gap = Gap(
        resource="aws_lambda_alias, aws_lambda_permission (retried POST)",
        call="lambda CreateAlias / AddPermission sent twice (the client's retry of a "
        "request the emulator had already carried out)",
        emulator="carries out both: CreateAlias answers 409 'Alias already exists'; "
        "AddPermission adds the statement twice, so after RemovePermission one is left "
        "and the provider waits for it to go until it times out",
        handling="shim: a byte-identical Lambda POST in the same region within 60 s gets "
        "the first answer again instead of being carried out twice",
    )

    def claims(self, request: Request) -> bool:
        return request.method == "POST" and _functions_call(request) is not None

    def key(self, request: Request) -> ReplayKey:
        return (request.region, request.method, request.path, request.query, request.body())

    def replayed_as(self, request: Request) -> str:
        return "lambda POST replayed"


class LoggingConfigs(Shim):
    """Keeps the LoggingConfig the emulator drops and puts it back in its answers."""

    gap = Gap(
        resource="aws_lambda_function (logging_config)",
        call="lambda CreateFunction / UpdateFunctionConfiguration LoggingConfig",
        emulator="drops LoggingConfig: GetFunction returns none, so every plan wants to "
        "set it again (and publish a new version): a perpetual diff",
        handling="shim: keeps the LoggingConfig sent per region and function and adds it "
        "to the function configurations the emulator returns",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}

    def claims(self, request: Request) -> bool:
        return _functions_call(request) is not None

    def answer(self, request: Request, forward: Forward) -> Reply:
        self._keep(request)
        reply = forward(request)
        with self.lock:
            known = {n: c for (r, n), c in self._configs.items() if r == request.region}
        if reply.ok and known and reply.body.startswith(b"{"):
            document = json.loads(reply.body)
            if add_logging_configs(document, known):
                reply = reply.with_body(document)
        return reply

    def _keep(self, request: Request) -> None:
        """The LoggingConfig a CreateFunction or UpdateFunctionConfiguration sends."""
        match = _functions_call(request)
        assert match is not None
        body = request.body()
        writes = request.method == "POST" and not match["name"]
        writes = writes or (request.method == "PUT" and match["rest"] == "/configuration")
        sent = json.loads(body) if writes and body else {}
        if "LoggingConfig" in sent:
            name = function_name(str(sent.get("FunctionName") or match["name"]))
            self.counts.add("lambda LoggingConfig kept")
            with self.lock:
                self._configs[(request.region, name)] = sent["LoggingConfig"]


def add_logging_configs(document: dict[str, Any], known: Mapping[str, Any]) -> bool:
    """Set LoggingConfig on every function configuration in a Lambda answer; True if any."""
    configurations = []
    if "FunctionName" in document:
        configurations.append(document)
    if isinstance(document.get("Configuration"), dict):
        configurations.append(document["Configuration"])
    for key in ("Versions", "Functions"):
        configurations.extend(c for c in document.get(key) or [] if isinstance(c, dict))
    changed = False
    for configuration in configurations:
        config = known.get(function_name(str(configuration.get("FunctionName", ""))))
        if config is not None:
            configuration["LoggingConfig"] = config
            changed = True
    return changed


class ProvisionedConcurrency(Shim):
    """Put/Get/DeleteProvisionedConcurrencyConfig, answered from what was put."""

    gap = Gap(
        resource="aws_lambda_provisioned_concurrency_config",
        call="lambda Put/Get/DeleteProvisionedConcurrencyConfig",
        emulator="not implemented (HTTP 404 for the URL)",
        handling="shim: keeps each config per function and qualifier and reports it READY "
        "with the requested concurrency allocated",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        # (region, function, qualifier) -> the config
        self._configs: dict[tuple[str, str, str], dict[str, Any]] = {}

    def claims(self, request: Request) -> bool:
        return _PROVISIONED.match(request.path) is not None

    def answer(self, request: Request, forward: Forward) -> Reply:
        match = _PROVISIONED.match(request.path)
        assert match is not None
        qualifier = parse_qs(request.query).get("Qualifier", [""])[0]
        key = (request.region, function_name(unquote(match["function"])), qualifier)
        self.counts.add(f"lambda {request.method} provisioned-concurrency")
        with self.lock:
            if request.method == "PUT":
                wanted = int(request.json()["ProvisionedConcurrentExecutions"])
                config: dict[str, Any] = {
                    "RequestedProvisionedConcurrentExecutions": wanted,
                    "AvailableProvisionedConcurrentExecutions": wanted,
                    "AllocatedProvisionedConcurrentExecutions": wanted,
                    "Status": "READY",
                    "LastModified": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
                }
                self._configs[key] = config
                return rest_json_reply("202 Accepted", config)
            found = self._configs.get(key)
            if found is None:
                message = f"No Provisioned Concurrency Config found for {key[1]}:{key[2]}"
                return rest_json_reply(
                    "404 Not Found",
                    {"Type": "User", "Message": message},
                    [("x-amzn-ErrorType", "ProvisionedConcurrencyConfigNotFoundException")],
                )
            if request.method == "DELETE":
                del self._configs[key]
                return Reply("204 No Content", [("Content-Length", "0")], b"")
            return rest_json_reply("200 OK", found)
