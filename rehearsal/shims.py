"""A WSGI layer in front of the emulator (moto) answering the few calls it lacks or gets wrong.

Every case is one entry of GAPS (printed by the rehearsal, tabled in
docs/rehearsal.md) and one branch of `EmulatorShims`. The product is never
changed to please the emulator: only what the emulator says back is patched.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from rehearsal.call_log import CallLog

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Gap:
    """One place where the emulator differs from AWS, and what the rehearsal does about it."""

    resource: str
    call: str
    emulator: str
    handling: str


GAPS: tuple[Gap, ...] = (
    Gap(
        resource="aws_lambda_alias (three regions)",
        call="concurrent lambda CreateAlias for same-named functions in several regions",
        emulator="under concurrent requests one CreateAlias was answered 409 "
        "'Alias already exists' in a region that had no alias yet (seen in one of the "
        "first two three-region runs)",
        handling="the shim layer passes one request at a time to the emulator "
        "(Terraform still sends them in parallel)",
    ),
    Gap(
        resource="aws_lambda_alias, aws_lambda_permission (retried POST)",
        call="lambda CreateAlias / AddPermission sent twice (the client's retry of a "
        "request the emulator had already carried out)",
        emulator="carries out both: CreateAlias answers 409 'Alias already exists'; "
        "AddPermission adds the statement twice, so after RemovePermission one is left "
        "and the provider waits for it to go until it times out",
        handling="shim: a byte-identical Lambda POST in the same region within 60 s gets "
        "the first answer again instead of being carried out twice",
    ),
    Gap(
        resource="aws_wafv2_web_acl (retried create)",
        call="wafv2 CreateWebACL sent twice (the client's retry of a request the emulator "
        "had already carried out); any JSON-protocol Create* call can be",
        emulator="answers the retry 400 WafV2DuplicateItem, so the apply fails (seen once in "
        "CI, three-region variant)",
        handling="shim: a byte-identical JSON-protocol Create* call (X-Amz-Target) in the same "
        "region within 60 s gets the first answer again, as Lambda POSTs do",
    ),
    Gap(
        resource="aws_dynamodb_table (lock table: the S3 backend's state lock)",
        call="dynamodb PutItem of the lock item (attribute_not_exists(LockID)) sent twice: "
        "the client's retry of a request the emulator had already carried out",
        emulator="answers the retry ConditionalCheckFailedException, so Terraform reports "
        "'Error acquiring the state lock' naming its own lock (seen once, user-path "
        "variant, `terraform state push` on a loaded machine)",
        handling="shim: a byte-identical PutItem in the same region within 60 s gets the "
        "first answer again, as a retried create does (a new lock has a new ID and time)",
    ),
    Gap(
        resource="aws_lambda_function (logging_config)",
        call="lambda CreateFunction / UpdateFunctionConfiguration LoggingConfig",
        emulator="drops LoggingConfig: GetFunction returns none, so every plan wants to "
        "set it again (and publish a new version): a perpetual diff",
        handling="shim: keeps the LoggingConfig sent per region and function and adds it "
        "to the function configurations the emulator returns",
    ),
    Gap(
        resource="aws_dynamodb_table_replica",
        call="dynamodb UpdateTable ReplicaUpdates (global tables version 2019.11.21)",
        emulator="accepts the call and ignores it: no replica is made and DescribeTable "
        "lists none, so the provider waits for the replica until it times out",
        handling="shim: creates the replica as a table of the same schema in the replica "
        "region (its own KMS key), deletes it on Delete, and lists it ACTIVE with its key "
        "in the primary's DescribeTable",
    ),
    Gap(
        resource="aws_appautoscaling_target",
        call="application-autoscaling ListTagsForResource / TagResource / UntagResource",
        emulator="not implemented (HTTP 500); the provider retries until it times out",
        handling="shim: keeps the tags sent with RegisterScalableTarget/TagResource per "
        "target ARN and answers the three calls from them",
    ),
    Gap(
        resource="aws_kms_replica_key, aws_kms_alias (replica region)",
        call="kms ReplicateKey, then CreateAlias in the replica region",
        emulator="the replica is a shallow copy sharing the primary's alias list and "
        "multi-region configuration: CreateAlias in the replica region fails with "
        "AlreadyExistsException, and describing the replica relabels the primary REPLICA",
        handling="emulator patch (in the rehearsal's emulator process only, "
        "`patch_emulator`): the replica gets its own empty alias list and its own "
        "copy of the configuration, typed REPLICA",
    ),
    Gap(
        resource="aws_kms_replica_key",
        call="kms ReplicateKey",
        emulator="ignores the request's Description, Policy and Tags; the provider waits "
        "for the tags to appear until it times out",
        handling="shim: after ReplicateKey, applies them to the new replica with "
        "UpdateKeyDescription, PutKeyPolicy and TagResource in the replica region",
    ),
    Gap(
        resource="aws_lambda_provisioned_concurrency_config",
        call="lambda Put/Get/DeleteProvisionedConcurrencyConfig",
        emulator="not implemented (HTTP 404 for the URL)",
        handling="shim: keeps each config per function and qualifier and reports it READY "
        "with the requested concurrency allocated",
    ),
    Gap(
        resource="aws_api_gateway_stage (the rollout's synthetic check)",
        call="HTTPS requests to a region's own endpoint, "
        "https://<api id>.execute-api.<region>.amazonaws.com/v1 (output <region>_endpoint)",
        emulator="serves no execute-api host, and its API Gateway would not run the Lambda "
        "code anyway (no Lambda code runs in the emulator)",
        handling="the rehearsal's canary rollout points the synthetic check at one local-mode "
        "server per region (the same handlers over dynalite) with `--region-endpoint`; "
        "the rollout's AWS calls (aliases, alarms) go to the emulator",
    ),
    Gap(
        resource="aws_route53_traffic_policy, aws_route53_traffic_policy_instance",
        call="route53 Create/Get/List/Delete TrafficPolicy (and Versions), "
        "Create/Get/Update/List/Delete TrafficPolicyInstance",
        emulator="not implemented (HTTP 404 for the URLs)",
        handling="shim: keeps policies (document, versions) and instances and answers "
        "these calls; an instance is reported Applied at once",
    ),
    Gap(
        resource="aws_s3_bucket (state bucket, destroy)",
        call="s3 DeleteObjects / DeleteObject of the delete markers the S3 backend's "
        "lock file leaves in the versioned bucket",
        emulator="crashes (HTTP 500: FakeDeleteMarker has no dispose), so force_destroy "
        "never empties the bucket and the provider retries until it times out",
        handling="emulator patch (in the rehearsal's emulator process only, "
        "`patch_emulator`): a delete marker is disposed of as having no data",
    ),
    Gap(
        resource="aws_s3_bucket_policy (state bucket, TLS-only Deny)",
        call="s3 PutBucketPolicy, then every object call on the bucket",
        emulator="evaluates only StringEquals conditions: the Deny on "
        "aws:SecureTransport=false applies to every request, so the S3 backend gets 403",
        handling="shim: GetBucketPolicy returns the policy as written; the emulator "
        "enforces it without the statements that only match plain-HTTP requests "
        "(the emulator's loopback HTTP stands in for AWS's HTTPS)",
    ),
    Gap(
        resource="aws_budgets_budget",
        call="budgets DescribeSubscribersForNotification, ListTagsForResource / "
        "TagResource / UntagResource; the ResourceTags of CreateBudget",
        emulator="not implemented (HTTP 500); CreateBudget ignores ResourceTags; the "
        "provider retries the reads until it gives up",
        handling="emulator patch (in the rehearsal's emulator process only, "
        "`patch_budgets`): subscribers are answered from the notifications the emulator "
        "keeps; tags are kept per budget ARN from CreateBudget and the tag calls",
    ),
    Gap(
        resource="aws_xray_sampling_rule",
        call="xray Create/Update/DeleteSamplingRule, GetSamplingRules, "
        "ListTagsForResource / TagResource / UntagResource",
        emulator="not implemented (HTTP 404 for the URLs)",
        handling="shim: keeps the rules per region (with their tags) and answers these "
        "calls as X-Ray does",
    ),
)

_CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/"
)
# A byte-identical create (a Lambda POST, a JSON-protocol Create* call) repeated in the
# same region within this window is the client's retry.
REPLAY_WINDOW_SECONDS = 60.0
_FUNCTIONS = re.compile(r"^/2015-03-31/functions/?(?P<name>[^/]*)(?P<rest>/.*)?$")
_PROVISIONED = re.compile(r"^/2019-09-30/functions/(?P<function>[^/]+)/provisioned-concurrency$")
_ROUTE53 = "/2013-04-01/"
_R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
_XRAY_SHIMMED = frozenset(
    (
        "CreateSamplingRule",
        "GetSamplingRules",
        "UpdateSamplingRule",
        "DeleteSamplingRule",
        "ListTagsForResource",
        "TagResource",
        "UntagResource",
    )
)
# The emulator's default account (the fake credentials' account).
_ACCOUNT = "123456789012"
_PLAIN_HTTP_ONLY = {"Bool": {"aws:SecureTransport": "false"}}


def credential_scope(environ: Mapping[str, Any]) -> tuple[str, str]:
    """(region, service) from a SigV4 Authorization header; ("", "") if unsigned."""
    match = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if match is None:
        return "", ""
    return match["region"], match["service"]


def enforceable_policy(policy: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bucket policy without statements that only match plain-HTTP requests; None if empty."""
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    kept = [s for s in statements if s.get("Condition") != _PLAIN_HTTP_ONLY]
    if not kept:
        return None
    return {**policy, "Statement": kept}


@dataclass
class _Reply:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")


class EmulatorShims:
    """WSGI middleware: answers or completes the calls listed in GAPS, passes the rest on."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        # One request at a time reaches the emulator (see GAPS: concurrent requests).
        self._serial = threading.Lock()
        self._scaling_tags: dict[str, dict[str, str]] = {}
        self._bucket_policies: dict[str, bytes] = {}
        # (region, function, qualifier) -> the config
        self._provisioned: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._logging_configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._recent_creates: dict[tuple[str, str, str, str, bytes], tuple[float, _Reply]] = {}
        self._policies: dict[str, list[dict[str, str]]] = {}
        self._instances: dict[str, dict[str, str]] = {}
        # (primary region, table name) -> {replica region: KMS key id given for it}
        self._replicas: dict[tuple[str, str], dict[str, str]] = {}
        # (region, rule name) -> the sampling rule record; rule ARN -> tags
        self._sampling_rules: dict[tuple[str, str], dict[str, Any]] = {}
        self._xray_tags: dict[str, dict[str, str]] = {}
        self.shimmed_calls: dict[str, int] = {}
        # EPOCH_REHEARSAL_CALL_LOG: one line per request (rehearsal/call_log.py).
        self._call_log = CallLog.from_environment(os.environ)

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
                self._call_log.record(environ, self._read_body(environ))
            return list(self._dispatch(environ, start))

    def _dispatch(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        region, service = credential_scope(environ)
        if target.startswith("AnyScaleFrontendService."):
            action = target.split(".", 1)[1]
            if action in ("ListTagsForResource", "TagResource", "UntagResource"):
                return self._scaling_tag_call(action, environ, start_response)
            if action == "RegisterScalableTarget":
                return self._register_scalable_target(environ, start_response)
        if target == "DynamoDB_20120810.UpdateTable":
            return self._update_table(environ, start_response)
        if target == "DynamoDB_20120810.DescribeTable":
            return self._describe_table(environ, start_response, region)
        if target == "TrentService.ReplicateKey":
            return self._replicate_key(environ, start_response)
        if target.partition(".")[2].startswith("Create") or target == "DynamoDB_20120810.PutItem":
            body = self._read_body(environ)
            reply, replayed = self._carried_out_once((region, "POST", target, "", body), environ)
            if replayed:
                self._count(f"{target} replayed")
            return self._send(start_response, reply)
        path = str(environ.get("PATH_INFO", ""))
        if service == "xray" and path.strip("/") in _XRAY_SHIMMED:
            return self._xray_call(path.strip("/"), region, environ, start_response)
        lambda_match = _PROVISIONED.match(path)
        if lambda_match is not None:
            return self._provisioned_concurrency(
                region, unquote(lambda_match["function"]), environ, start_response
            )
        functions_match = _FUNCTIONS.match(path)
        if functions_match is not None and service == "lambda":
            return self._function_call(functions_match, region, environ, start_response)
        if path.startswith(_ROUTE53 + "trafficpolic"):
            return self._traffic_policy_call(path[len(_ROUTE53) :], environ, start_response)
        if service == "s3" and "policy" in parse_qs(
            str(environ.get("QUERY_STRING", "")), keep_blank_values=True
        ):
            return self._bucket_policy_call(environ, start_response)
        return self._app(environ, start_response)

    # -- helpers -------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._lock:
            self.shimmed_calls[name] = self.shimmed_calls.get(name, 0) + 1

    @staticmethod
    def _read_body(environ: Environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _forward(self, environ: Environ, body: bytes | None = None) -> _Reply:
        """Call the emulator with `environ` (and a replaced body) and collect its answer."""
        if body is not None:
            environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        chunks = self._app(environ, start)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return _Reply(captured["status"], captured["headers"], payload)

    def _carried_out_once(
        self, key: tuple[str, str, str, str, bytes], environ: Environ
    ) -> tuple[_Reply, bool]:
        """Forward a create, unless `key` (region, method, path or target, query, body) was
        answered with success within REPLAY_WINDOW_SECONDS: then that answer again (see
        GAPS: retried creates). True when replayed. The body must have been read
        (`_read_body`)."""
        now = time.monotonic()
        with self._lock:
            replay = self._recent_creates.get(key)
        if replay is not None and now - replay[0] < REPLAY_WINDOW_SECONDS:
            return replay[1], True
        reply = self._forward(environ)
        if reply.ok:
            with self._lock:
                self._recent_creates[key] = (now, reply)
        return reply, False

    @staticmethod
    def _send(start_response: StartResponse, reply: _Reply) -> list[bytes]:
        # A patched body would fail DynamoDB's x-amz-crc32 check; the header is optional.
        headers = [
            (k, v) for k, v in reply.headers if k.lower() not in ("content-length", "x-amz-crc32")
        ]
        headers.append(("Content-Length", str(len(reply.body))))
        start_response(reply.status, headers)
        return [reply.body]

    @staticmethod
    def _json(start_response: StartResponse, document: Mapping[str, Any]) -> list[bytes]:
        body = json.dumps(document).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
        )
        return [body]

    # -- application-autoscaling tags ---------------------------------------

    def _register_scalable_target(
        self, environ: Environ, start_response: StartResponse
    ) -> list[bytes]:
        request = json.loads(self._read_body(environ) or b"{}")
        reply = self._forward(environ)
        tags = request.get("Tags")
        if reply.ok and tags:
            arn = json.loads(reply.body).get("ScalableTargetARN")
            if arn:
                self._count("application-autoscaling RegisterScalableTarget tags")
                with self._lock:
                    self._scaling_tags.setdefault(arn, {}).update(tags)
        return self._send(start_response, reply)

    def _scaling_tag_call(
        self, action: str, environ: Environ, start_response: StartResponse
    ) -> list[bytes]:
        request = json.loads(self._read_body(environ) or b"{}")
        arn = str(request.get("ResourceARN", ""))
        self._count(f"application-autoscaling {action}")
        with self._lock:
            tags = self._scaling_tags.setdefault(arn, {})
            if action == "TagResource":
                tags.update(request.get("Tags") or {})
                return self._json(start_response, {})
            if action == "UntagResource":
                for key in request.get("TagKeys") or []:
                    tags.pop(key, None)
                return self._json(start_response, {})
            return self._json(start_response, {"Tags": dict(tags)})

    # -- KMS ReplicateKey ----------------------------------------------------

    def _replicate_key(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        request = json.loads(self._read_body(environ) or b"{}")
        reply = self._forward(environ)
        if not reply.ok:
            return self._send(start_response, reply)
        replica_id = json.loads(reply.body)["ReplicaKeyMetadata"]["KeyId"]
        region = str(request["ReplicaRegion"])
        follow_ups: list[tuple[str, dict[str, Any]]] = []
        if request.get("Description") is not None:
            follow_ups.append(
                (
                    "UpdateKeyDescription",
                    {"KeyId": replica_id, "Description": request["Description"]},
                )
            )
        if request.get("Policy"):
            follow_ups.append(
                (
                    "PutKeyPolicy",
                    {"KeyId": replica_id, "PolicyName": "default", "Policy": request["Policy"]},
                )
            )
        if request.get("Tags"):
            follow_ups.append(("TagResource", {"KeyId": replica_id, "Tags": request["Tags"]}))
        for action, document in follow_ups:
            self._count(f"kms ReplicateKey -> {action}")
            done = self._forward(
                self._json_environ(environ, region, f"TrentService.{action}"),
                json.dumps(document).encode(),
            )
            if not done.ok:
                return self._send(start_response, done)
        return self._send(start_response, reply)

    # -- DynamoDB global table replicas -------------------------------------

    def _update_table(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        request = json.loads(self._read_body(environ) or b"{}")
        updates = request.pop("ReplicaUpdates", None)
        if not updates:
            return self._send(start_response, self._forward(environ))
        region, _ = credential_scope(environ)
        name = str(request["TableName"])
        rest = {k: v for k, v in request.items() if k != "TableName"}
        if rest:
            done = self._forward(environ, json.dumps(request).encode())
            if not done.ok:
                return self._send(start_response, done)
        for update in updates:
            for action, spec in update.items():
                self._count(f"dynamodb UpdateTable ReplicaUpdates {action}")
                reply = self._replica_update(environ, region, name, action, spec)
                if not reply.ok:
                    return self._send(start_response, reply)
        described = self._table_reply(
            self._json_environ(environ, region, "DynamoDB_20120810.DescribeTable"),
            region,
            json.dumps({"TableName": name}).encode(),
        )
        if described.ok:
            # UpdateTable answers with the description under another key.
            table = json.loads(described.body)["Table"]
            body = json.dumps({"TableDescription": table}).encode()
            described = _Reply(described.status, described.headers, body)
        return self._send(start_response, described)

    def _replica_update(
        self, environ: Environ, region: str, name: str, action: str, spec: Mapping[str, Any]
    ) -> _Reply:
        replica_region = str(spec["RegionName"])
        replica_env = self._json_environ(
            environ, replica_region, f"DynamoDB_20120810.{action}Table"
        )
        if action == "Delete":
            with self._lock:
                known = replica_region in self._replicas.get((region, name), {})
            if not known:
                # AWS's answer, which the provider takes as "already gone".
                error = {
                    "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                    "message": "Replica specified in the Replica Update or Replica Delete "
                    "action of the request was not found.",
                }
                headers = [("Content-Type", "application/x-amz-json-1.0")]
                return _Reply("400 Bad Request", headers, json.dumps(error).encode())
            reply = self._forward(replica_env, json.dumps({"TableName": name}).encode())
            with self._lock:
                self._replicas.get((region, name), {}).pop(replica_region, None)
            return reply
        if action == "Update":
            with self._lock:
                replicas = self._replicas.setdefault((region, name), {})
                if spec.get("KMSMasterKeyId"):
                    replicas[replica_region] = str(spec["KMSMasterKeyId"])
            return _Reply("200 OK", [], b"{}")
        describe = self._forward(
            self._json_environ(environ, region, "DynamoDB_20120810.DescribeTable"),
            json.dumps({"TableName": name}).encode(),
        )
        if not describe.ok:
            return describe
        table = json.loads(describe.body)["Table"]
        key = str(spec.get("KMSMasterKeyId") or "")
        reply = self._forward(replica_env, json.dumps(replica_table(table, key)).encode())
        if reply.ok:
            with self._lock:
                self._replicas.setdefault((region, name), {})[replica_region] = key
        return reply

    def _describe_table(
        self, environ: Environ, start_response: StartResponse, region: str
    ) -> list[bytes]:
        return self._send(
            start_response, self._table_reply(environ, region, self._read_body(environ))
        )

    def _table_reply(self, environ: Environ, region: str, body: bytes) -> _Reply:
        """DescribeTable, with the replicas the shim made listed as a global table's."""
        name = str(json.loads(body or b"{}").get("TableName", ""))
        reply = self._forward(environ, body)
        with self._lock:
            replicas = dict(self._replicas.get((region, name), {}))
        if reply.ok and replicas:
            document = json.loads(reply.body)
            document["Table"]["GlobalTableVersion"] = "2019.11.21"
            document["Table"]["Replicas"] = [
                {"RegionName": r, "ReplicaStatus": "ACTIVE", "KMSMasterKeyId": key}
                for r, key in sorted(replicas.items())
            ]
            reply = _Reply(reply.status, reply.headers, json.dumps(document).encode())
        return reply

    @staticmethod
    def _json_environ(environ: Environ, region: str, target: str) -> Environ:
        authorization = _CREDENTIAL_SCOPE.sub(
            lambda m: m[0].replace(f"/{m['region']}/", f"/{region}/"),
            str(environ.get("HTTP_AUTHORIZATION", "")),
        )
        return {
            **environ,
            "HTTP_X_AMZ_TARGET": target,
            "HTTP_AUTHORIZATION": authorization,
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
        }

    # -- S3 bucket policy ----------------------------------------------------

    def _bucket_policy_call(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        bucket = str(environ.get("PATH_INFO", "/")).strip("/").split("/", 1)[0]
        if method == "PUT":
            body = self._read_body(environ)
            enforced = enforceable_policy(json.loads(body))
            self._count("s3 PutBucketPolicy")
            if enforced is None:
                # Nothing left for the emulator to enforce: remove any policy it holds.
                reply = self._forward({**environ, "REQUEST_METHOD": "DELETE"}, b"")
            else:
                reply = self._forward(environ, json.dumps(enforced).encode())
            if reply.ok:
                with self._lock:
                    self._bucket_policies[bucket] = body
                reply = _Reply("204 No Content", [], b"")
            return self._send(start_response, reply)
        if method == "DELETE":
            reply = self._forward(environ)
            with self._lock:
                self._bucket_policies.pop(bucket, None)
            return self._send(start_response, reply)
        with self._lock:
            stored = self._bucket_policies.get(bucket)
        if method == "GET" and stored is not None:
            self._count("s3 GetBucketPolicy")
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(stored)))],
            )
            return [stored]
        return list(self._app(environ, start_response))

    # -- Lambda logging configuration -----------------------------------------

    def _function_call(
        self,
        match: re.Match[str],
        region: str,
        environ: Environ,
        start_response: StartResponse,
    ) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        body = self._read_body(environ)
        writes = method == "POST" and not match["name"]
        writes = writes or (method == "PUT" and match["rest"] == "/configuration")
        if writes and body:
            request = json.loads(body)
            if "LoggingConfig" in request:
                name = function_name(str(request.get("FunctionName") or match["name"]))
                self._count("lambda LoggingConfig kept")
                with self._lock:
                    self._logging_configs[(region, name)] = request["LoggingConfig"]
        if method == "POST":
            replay_key = (
                region,
                method,
                str(environ.get("PATH_INFO")),
                str(environ.get("QUERY_STRING")),
                body,
            )
            reply, replayed = self._carried_out_once(replay_key, environ)
            if replayed:
                self._count("lambda POST replayed")
                return self._send(start_response, reply)
        else:
            reply = self._forward(environ, body)
        with self._lock:
            known = {n: c for (r, n), c in self._logging_configs.items() if r == region}
        if reply.ok and known and reply.body.startswith(b"{"):
            document = json.loads(reply.body)
            if add_logging_configs(document, known):
                reply = _Reply(reply.status, reply.headers, json.dumps(document).encode())
        return self._send(start_response, reply)

    # -- Lambda provisioned concurrency --------------------------------------

    def _provisioned_concurrency(
        self, region: str, function: str, environ: Environ, start_response: StartResponse
    ) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        key = (region, function_name(function), query.get("Qualifier", [""])[0])
        self._count(f"lambda {method} provisioned-concurrency")
        with self._lock:
            if method == "PUT":
                request = json.loads(self._read_body(environ) or b"{}")
                wanted = int(request["ProvisionedConcurrentExecutions"])
                config: dict[str, Any] = {
                    "RequestedProvisionedConcurrentExecutions": wanted,
                    "AvailableProvisionedConcurrentExecutions": wanted,
                    "AllocatedProvisionedConcurrentExecutions": wanted,
                    "Status": "READY",
                    "LastModified": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
                }
                self._provisioned[key] = config
                return self._rest_json(start_response, "202 Accepted", config)
            found = self._provisioned.get(key)
            if found is None:
                error = {
                    "Type": "User",
                    "Message": f"No Provisioned Concurrency Config found for {key[1]}:{key[2]}",
                }
                return self._rest_json(
                    start_response,
                    "404 Not Found",
                    error,
                    [("x-amzn-ErrorType", "ProvisionedConcurrencyConfigNotFoundException")],
                )
            if method == "DELETE":
                del self._provisioned[key]
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            return self._rest_json(start_response, "200 OK", found)

    @staticmethod
    def _rest_json(
        start_response: StartResponse,
        status: str,
        document: Mapping[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        body = json.dumps(document).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *(extra or []),
            ],
        )
        return [body]

    # -- X-Ray sampling rules --------------------------------------------------

    def _xray_call(
        self, action: str, region: str, environ: Environ, start_response: StartResponse
    ) -> list[bytes]:
        request = json.loads(self._read_body(environ) or b"{}")
        self._count(f"xray {action}")
        with self._lock:
            if action == "CreateSamplingRule":
                rule = dict(request.get("SamplingRule") or {})
                name = str(rule.get("RuleName", ""))
                if (region, name) in self._sampling_rules:
                    return self._xray_error(start_response, f"rule {name} already exists")
                rule["RuleARN"] = f"arn:aws:xray:{region}:{_ACCOUNT}:sampling-rule/{name}"
                rule.setdefault("Attributes", {})
                now = time.time()
                record = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
                self._sampling_rules[(region, name)] = record
                self._xray_tags[rule["RuleARN"]] = {
                    tag["Key"]: tag["Value"] for tag in request.get("Tags") or []
                }
                return self._rest_json(start_response, "200 OK", {"SamplingRuleRecord": record})
            if action == "GetSamplingRules":
                records = [r for (where, _), r in self._sampling_rules.items() if where == region]
                return self._rest_json(start_response, "200 OK", {"SamplingRuleRecords": records})
            if action == "UpdateSamplingRule":
                update = dict(request.get("SamplingRuleUpdate") or {})
                found = self._sampling_rule(region, update)
                if found is None:
                    return self._xray_error(start_response, "rule not found")
                found["SamplingRule"].update(
                    {k: v for k, v in update.items() if k not in ("RuleName", "RuleARN")}
                )
                found["ModifiedAt"] = time.time()
                return self._rest_json(start_response, "200 OK", {"SamplingRuleRecord": found})
            if action == "DeleteSamplingRule":
                found = self._sampling_rule(region, request)
                if found is None:
                    return self._xray_error(start_response, "rule not found")
                rule = found["SamplingRule"]
                del self._sampling_rules[(region, rule["RuleName"])]
                self._xray_tags.pop(rule["RuleARN"], None)
                return self._rest_json(start_response, "200 OK", {"SamplingRuleRecord": found})
            tags = self._xray_tags.setdefault(str(request.get("ResourceARN", "")), {})
            if action == "TagResource":
                tags.update({tag["Key"]: tag["Value"] for tag in request.get("Tags") or []})
                return self._rest_json(start_response, "200 OK", {})
            if action == "UntagResource":
                for key in request.get("TagKeys") or []:
                    tags.pop(key, None)
                return self._rest_json(start_response, "200 OK", {})
            listed = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
            return self._rest_json(start_response, "200 OK", {"Tags": listed})

    def _sampling_rule(self, region: str, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """The rule a request names by RuleName or RuleARN, in `region`."""
        name = request.get("RuleName") or str(request.get("RuleARN", "")).rpartition("/")[2]
        return self._sampling_rules.get((region, str(name)))

    def _xray_error(self, start_response: StartResponse, message: str) -> list[bytes]:
        return self._rest_json(
            start_response,
            "400 Bad Request",
            {"Message": message},
            [("x-amzn-ErrorType", "InvalidRequestException")],
        )

    # -- Route 53 traffic policies -------------------------------------------

    def _traffic_policy_call(
        self, path: str, environ: Environ, start_response: StartResponse
    ) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        parts = path.strip("/").split("/")
        self._count(f"route53 {method} {parts[0]}")
        request = None
        if method == "POST":
            body = self._read_body(environ)
            # The provider on loopback is the only client; its XML carries no entities.
            root = ET.fromstring(body) if body else None  # noqa: S314
            request = {_local(e.tag): (e.text or "") for e in root} if root is not None else {}
        with self._lock:
            if parts[0] == "trafficpolicy":
                return self._policy(method, parts[1:], request, start_response)
            if parts[0] == "trafficpolicies":
                if len(parts) == 1:
                    return self._xml(
                        start_response,
                        "200 OK",
                        "ListTrafficPoliciesResponse",
                        self._policy_summaries(),
                    )
                versions = self._policies.get(parts[1], [])
                inner = (
                    "<TrafficPolicies>"
                    + "".join(_policy_xml(p) for p in versions)
                    + "</TrafficPolicies>"
                )
                inner += "<IsTruncated>false</IsTruncated><TrafficPolicyVersionMarker/>"
                inner += "<MaxItems>100</MaxItems>"
                return self._xml(
                    start_response, "200 OK", "ListTrafficPolicyVersionsResponse", inner
                )
            if parts[0] == "trafficpolicyinstance":
                return self._instance(method, parts[1:], request, start_response)
            if parts[0] == "trafficpolicyinstances":
                inner = (
                    "<TrafficPolicyInstances>"
                    + "".join(_instance_xml(i) for i in self._instances.values())
                    + "</TrafficPolicyInstances>"
                )
                inner += "<IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>"
                return self._xml(
                    start_response, "200 OK", "ListTrafficPolicyInstancesResponse", inner
                )
        return self._r53_error(start_response, "400 Bad Request", "InvalidInput", f"unknown {path}")

    def _policy_summaries(self) -> str:
        summaries = "".join(
            "<TrafficPolicySummary>"
            f"<Id>{pid}</Id><Name>{_esc(v[-1]['Name'])}</Name><Type>{v[-1]['Type']}</Type>"
            f"<LatestVersion>{v[-1]['Version']}</LatestVersion>"
            f"<TrafficPolicyCount>{len(v)}</TrafficPolicyCount>"
            "</TrafficPolicySummary>"
            for pid, v in self._policies.items()
            if v
        )
        return (
            f"<TrafficPolicySummaries>{summaries}</TrafficPolicySummaries>"
            "<IsTruncated>false</IsTruncated><TrafficPolicyIdMarker/><MaxItems>100</MaxItems>"
        )

    def _policy(
        self,
        method: str,
        parts: list[str],
        request: dict[str, str] | None,
        start_response: StartResponse,
    ) -> list[bytes]:
        if method == "POST" and not parts:
            assert request is not None
            policy_id = str(uuid.uuid4())
            self._policies[policy_id] = [_new_policy(policy_id, 1, request)]
            return self._xml(
                start_response,
                "201 Created",
                "CreateTrafficPolicyResponse",
                _policy_xml(self._policies[policy_id][-1]),
            )
        if method == "POST" and len(parts) == 1:
            assert request is not None
            versions = self._policies.get(parts[0])
            if not versions:
                return self._no_policy(start_response, parts[0])
            request.setdefault("Name", versions[-1]["Name"])
            versions.append(_new_policy(parts[0], int(versions[-1]["Version"]) + 1, request))
            return self._xml(
                start_response,
                "201 Created",
                "CreateTrafficPolicyVersionResponse",
                _policy_xml(versions[-1]),
            )
        versions = self._policies.get(parts[0], []) if parts else []
        policy = next((p for p in versions if len(parts) > 1 and p["Version"] == parts[1]), None)
        if policy is None:
            return self._no_policy(start_response, "/".join(parts))
        if method == "GET":
            return self._xml(
                start_response, "200 OK", "GetTrafficPolicyResponse", _policy_xml(policy)
            )
        if method == "POST":
            assert request is not None
            policy["Comment"] = request.get("Comment", "")
            return self._xml(
                start_response, "200 OK", "UpdateTrafficPolicyCommentResponse", _policy_xml(policy)
            )
        if method == "DELETE":
            in_use = [
                i
                for i in self._instances.values()
                if i["TrafficPolicyId"] == policy["Id"]
                and i["TrafficPolicyVersion"] == policy["Version"]
            ]
            if in_use:
                return self._r53_error(
                    start_response,
                    "400 Bad Request",
                    "TrafficPolicyInUse",
                    "a traffic policy instance uses this version",
                )
            versions.remove(policy)
            if not versions:
                del self._policies[parts[0]]
            return self._xml(start_response, "200 OK", "DeleteTrafficPolicyResponse", "")
        return self._no_policy(start_response, "/".join(parts))

    def _instance(
        self,
        method: str,
        parts: list[str],
        request: dict[str, str] | None,
        start_response: StartResponse,
    ) -> list[bytes]:
        if method == "POST" and not parts:
            assert request is not None
            versions = self._policies.get(request.get("TrafficPolicyId", ""), [])
            policy = next(
                (p for p in versions if p["Version"] == request.get("TrafficPolicyVersion")), None
            )
            if policy is None:
                return self._no_policy(start_response, str(request.get("TrafficPolicyId")))
            instance_id = str(uuid.uuid4())
            self._instances[instance_id] = {
                "Id": instance_id,
                "HostedZoneId": request.get("HostedZoneId", ""),
                "Name": request.get("Name", ""),
                "TTL": request.get("TTL", "60"),
                "State": "Applied",
                "Message": "",
                "TrafficPolicyId": policy["Id"],
                "TrafficPolicyVersion": policy["Version"],
                "TrafficPolicyType": policy["Type"],
            }
            return self._xml(
                start_response,
                "201 Created",
                "CreateTrafficPolicyInstanceResponse",
                _instance_xml(self._instances[instance_id]),
            )
        instance = self._instances.get(parts[0]) if parts else None
        if instance is None:
            return self._r53_error(
                start_response,
                "404 Not Found",
                "NoSuchTrafficPolicyInstance",
                f"no traffic policy instance {'/'.join(parts)}",
            )
        if method == "GET":
            return self._xml(
                start_response,
                "200 OK",
                "GetTrafficPolicyInstanceResponse",
                _instance_xml(instance),
            )
        if method == "POST":
            assert request is not None
            for field_name in ("TTL", "TrafficPolicyId", "TrafficPolicyVersion"):
                if field_name in request:
                    instance[field_name] = request[field_name]
            return self._xml(
                start_response,
                "200 OK",
                "UpdateTrafficPolicyInstanceResponse",
                _instance_xml(instance),
            )
        if method == "DELETE":
            del self._instances[parts[0]]
            return self._xml(start_response, "200 OK", "DeleteTrafficPolicyInstanceResponse", "")
        return self._r53_error(start_response, "400 Bad Request", "InvalidInput", method)

    def _no_policy(self, start_response: StartResponse, which: str) -> list[bytes]:
        return self._r53_error(
            start_response, "404 Not Found", "NoSuchTrafficPolicy", f"no traffic policy {which}"
        )

    @staticmethod
    def _xml(start_response: StartResponse, status: str, root: str, inner: str) -> list[bytes]:
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_R53_NS}">{inner}</{root}>'
        body = xml.encode()
        headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    @staticmethod
    def _r53_error(
        start_response: StartResponse, status: str, code: str, message: str
    ) -> list[bytes]:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{_R53_NS}"><Error>'
            f"<Type>Sender</Type><Code>{code}</Code><Message>{_esc(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from its name, partial or full ARN (qualifier dropped)."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


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


def patch_emulator() -> None:
    """Two fixes inside the emulator process itself (see GAPS); imports moto on call.

    A replica key gets its own aliases and multi-region configuration, and a
    delete marker can be removed with its bucket.
    """
    import copy

    from moto.kms.models import KmsBackend
    from moto.s3.models import FakeDeleteMarker

    def dispose(self: Any, garbage: bool = False) -> None:
        """A delete marker holds no data to release."""

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]

    original = KmsBackend.replicate_key

    def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
        replica = original(self, key_id, replica_region)
        replica.aliases = {}
        configuration = copy.deepcopy(replica.multi_region_configuration)
        configuration["MultiRegionKeyType"] = "REPLICA"
        replica.multi_region_configuration = configuration
        return replica

    KmsBackend.replicate_key = replicate_key  # type: ignore[method-assign]


def replica_table(table: Mapping[str, Any], kms_key: str) -> dict[str, Any]:
    """A CreateTable request for a replica of `table` (a DescribeTable answer) with its own key."""
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")

    def throughput(source: Mapping[str, Any]) -> dict[str, Any]:
        given = source.get("ProvisionedThroughput", {})
        return {
            "ReadCapacityUnits": given.get("ReadCapacityUnits", 1),
            "WriteCapacityUnits": given.get("WriteCapacityUnits", 1),
        }

    request: dict[str, Any] = {
        "TableName": table["TableName"],
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput(table)
    indexes = []
    for index in table.get("GlobalSecondaryIndexes", []):
        copy = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if billing == "PROVISIONED":
            copy["ProvisionedThroughput"] = throughput(index)
        indexes.append(copy)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if table.get("StreamSpecification"):
        request["StreamSpecification"] = table["StreamSpecification"]
    if kms_key:
        request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key}
    return request


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _new_policy(policy_id: str, version: int, request: Mapping[str, str]) -> dict[str, str]:
    document = request.get("Document", "")
    try:
        record_type = str(json.loads(document).get("RecordType", "A"))
    except ValueError:
        record_type = "A"
    return {
        "Id": policy_id,
        "Version": str(version),
        "Name": request.get("Name", ""),
        "Type": record_type,
        "Document": document,
        "Comment": request.get("Comment", ""),
    }


def _policy_xml(policy: Mapping[str, str]) -> str:
    fields = ("Id", "Version", "Name", "Type", "Document", "Comment")
    return (
        "<TrafficPolicy>"
        + "".join(f"<{f}>{_esc(policy[f])}</{f}>" for f in fields)
        + "</TrafficPolicy>"
    )


def _instance_xml(instance: Mapping[str, str]) -> str:
    fields = (
        "Id",
        "HostedZoneId",
        "Name",
        "TTL",
        "State",
        "Message",
        "TrafficPolicyId",
        "TrafficPolicyVersion",
        "TrafficPolicyType",
    )
    return (
        "<TrafficPolicyInstance>"
        + "".join(f"<{f}>{_esc(instance[f])}</{f}>" for f in fields)
        + "</TrafficPolicyInstance>"
    )


def patch_budgets() -> None:
    """Budget notifications' subscribers and budget tags, inside the emulator process
    (see GAPS); imports moto on call."""
    from moto.budgets.models import BudgetsBackend
    from moto.budgets.responses import BudgetsResponse

    tags: dict[str, dict[str, str]] = {}

    def arn(account_id: str, budget_name: str) -> str:
        return f"arn:aws:budgets::{account_id}:budget/{budget_name}"

    def describe_subscribers_for_notification(self: Any) -> str:
        backend: BudgetsBackend = self.backend
        wanted = self._get_param("Notification")
        budget = backend.budgets[self._get_param("AccountId")][self._get_param("BudgetName")]
        for notification in budget.notifications:
            if notification.details == wanted:
                return json.dumps({"Subscribers": list(notification.subscribers)})
        return json.dumps({"Subscribers": []})

    create_budget = BudgetsResponse.create_budget
    delete_budget = BudgetsResponse.delete_budget

    def create_budget_with_tags(self: Any) -> str:
        answer = create_budget(self)
        budget = self._get_param("Budget")
        sent = self._get_param("ResourceTags", [])
        tags[arn(self._get_param("AccountId"), budget["BudgetName"])] = {
            tag["Key"]: tag["Value"] for tag in sent
        }
        return answer

    def delete_budget_and_tags(self: Any) -> str:
        answer = delete_budget(self)
        tags.pop(arn(self._get_param("AccountId"), self._get_param("BudgetName")), None)
        return answer

    def list_tags_for_resource(self: Any) -> str:
        held = tags.get(self._get_param("ResourceARN"), {})
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in held.items()]})

    def tag_resource(self: Any) -> str:
        held = tags.setdefault(self._get_param("ResourceARN"), {})
        held.update({tag["Key"]: tag["Value"] for tag in self._get_param("ResourceTags", [])})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        held = tags.setdefault(self._get_param("ResourceARN"), {})
        for key in self._get_param("ResourceTagKeys", []):
            held.pop(key, None)
        return json.dumps({})

    patched = {
        "describe_subscribers_for_notification": describe_subscribers_for_notification,
        "create_budget": create_budget_with_tags,
        "delete_budget": delete_budget_and_tags,
        "list_tags_for_resource": list_tags_for_resource,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
    }
    for name, method in patched.items():
        setattr(BudgetsResponse, name, method)
