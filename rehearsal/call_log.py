"""Which AWS call each request to the emulator is: the first part of a recorded-call proof.

With `EPOCH_REHEARSAL_CALL_LOG=<file>` in its environment, the emulator's shim
layer (rehearsal/shims.py) appends one JSON line per request to that file:
the IAM service prefix, the API operation, the IAM action it needs, the region,
the caller's access key id, the HTTP method and path. The operation comes from
the request as the SDK's own service model describes it (botocore's models: the
`X-Amz-Target` header of JSON protocols, the `Action` parameter of the query
protocol, or the method and path template of REST protocols), not from a
hand-kept list.

`python -m rehearsal.call_log FILE [--settings TOML]` prints each IAM action
called, how often, and whether any Allow statement of the deploy role names it;
then the role's actions no call used. That compares action names only: it is
not an evaluation of resources and conditions (docs/pipeline.md, "What is not
proven").
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ENV_VAR = "EPOCH_REHEARSAL_CALL_LOG"

_SCOPE = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
# The SigV4 signing name -> botocore's service name, where they differ.
_SERVICE_NAMES = {"monitoring": "cloudwatch", "email": "ses"}
# The IAM action a few S3 operations need, where it is not the operation's name.
_S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadObject": "GetObject",
}
_RPC_V2 = re.compile(r"/service/[^/]+/operation/(?P<operation>[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class Call:
    service: str  # the IAM prefix: lambda, cloudwatch, s3, ...
    operation: str  # the API operation, "?" if no operation of the model matches
    action: str  # the IAM action it needs, "<service>:<name>"
    region: str
    access_key: str
    method: str
    path: str


@functools.cache
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    # Query keys the template requires: S3's `GET /{Bucket}?tagging` is
    # GetBucketTagging, not ListObjects.
    query: frozenset[str]


@functools.cache
def _rest_routes(service: str) -> list[_Route]:
    """A REST service's operations as routes, the most specific first."""
    model = _model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = str(http["requestUri"]).partition("?")
        path = path.rstrip("/") or "/"
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        keys = frozenset(q.split("=")[0] for q in query.split("&") if q)
        routes.append(_Route(http["method"], re.compile(f"^{pattern}/?$"), name, keys))
    routes.sort(key=lambda r: (-len(r.query), -len(r.pattern.pattern)))
    return routes


def _rest_operation(service: str, method: str, path: str, query: str) -> str:
    keys = set(parse_qs(query, keep_blank_values=True))
    for route in _rest_routes(service):
        if route.method == method and route.pattern.match(path) and route.query <= keys:
            return route.operation
    return "?"


def identify(environ: Mapping[str, Any], body: bytes) -> Call:
    """The call a WSGI request to the emulator makes (unsigned requests: service "")."""
    scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    method = str(environ.get("REQUEST_METHOD", ""))
    path = str(environ.get("PATH_INFO", ""))
    if scope is None:
        return Call("", "?", "?", "", "", method, path)
    signing = scope["service"]
    service = _SERVICE_NAMES.get(signing, signing)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    rpc = _RPC_V2.search(path)
    if target:
        operation = target.rpartition(".")[2]
    elif rpc is not None:
        operation = rpc["operation"]
    elif _model(service).metadata.get("protocol") == "query":
        operation = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    else:
        operation = _rest_operation(service, method, path, str(environ.get("QUERY_STRING", "")))
        if operation == "CopyObject" and "HTTP_X_AMZ_COPY_SOURCE" not in environ:
            operation = "PutObject"  # same method and path; the header tells them apart
    prefix = signing if signing != "monitoring" else "cloudwatch"
    if service == "apigateway":
        action = f"apigateway:{method}"  # API Gateway authorizes by HTTP method
    elif service == "s3":
        action = f"s3:{_S3_ACTIONS.get(operation, operation)}"
    else:
        action = f"{prefix}:{operation}"
    return Call(prefix, operation, action, scope["region"], scope["key"], method, path)


class CallLog:
    """Appends one JSON line per call to the file named by EPOCH_REHEARSAL_CALL_LOG."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> CallLog | None:
        path = environ.get(ENV_VAR)
        return cls(Path(path)) if path else None

    def record(self, environ: Mapping[str, Any], body: bytes) -> None:
        line = json.dumps(asdict(identify(environ, body)), sort_keys=True)
        with self._path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def read(path: Path) -> list[Call]:
    return [Call(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def role_actions(settings_path: Path) -> dict[str, str]:
    """Every action an Allow statement of the deploy role names -> where: its identity
    policies, or the data key's policy (no bindings needed)."""
    from epoch_blocks.encryption_policy import DEPLOYER_ACTIONS
    from epoch_settings import load_settings
    from remote_state.deploy_role import deploy_statements

    settings = load_settings(settings_path)
    parts = deploy_statements(settings, "123456789012", "arn:aws:kms:::key/state")
    granted = dict.fromkeys(DEPLOYER_ACTIONS, "yes (the data key's policy)")
    for statements in parts.values():
        for statement in statements:
            if statement.effect == "Allow":
                granted.update(dict.fromkeys(statement.actions, "yes"))
    return granted


def report(calls: list[Call], granted: Mapping[str, str]) -> str:
    counts = Counter(c.action for c in calls if c.service and c.service != "sts")
    lines = ["IAM action | calls | named by an Allow statement of the deploy role"]
    for action, count in sorted(counts.items()):
        lines.append(f"{action} | {count} | {granted.get(action, 'NO')}")
    unused = sorted(set(granted) - set(counts))
    lines.append(f"granted, never called ({len(unused)}): {', '.join(unused)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.call_log")
    parser.add_argument("log", type=Path)
    parser.add_argument(
        "--settings", type=Path, default=Path(__file__).resolve().parent.parent / "settings.toml"
    )
    args = parser.parse_args(argv)
    if not args.log.is_file():
        print(f"error: {args.log}: no such call log", file=sys.stderr)
        return 2
    print(report(read(args.log), role_actions(args.settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
