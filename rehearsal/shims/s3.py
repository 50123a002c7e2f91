"""S3: the state bucket's TLS-only policy, and delete markers removed with the bucket (a patch)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from rehearsal.shims.core import Counts, Emulator, Forward, Gap, Reply, Request, Shim
from rehearsal.shims.moto_version import for_moto

_PLAIN_HTTP_ONLY = {"Bool": {"aws:SecureTransport": "false"}}


def enforceable_policy(policy: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bucket policy without statements that only match plain-HTTP requests; None if empty."""
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    kept = [s for s in statements if s.get("Condition") != _PLAIN_HTTP_ONLY]
    if not kept:
        return None
    return {**policy, "Statement": kept}


class BucketPolicies(Shim):
    """The policy read back as written; the emulator enforces what it can evaluate."""

    gap = Gap(
        resource="aws_s3_bucket_policy (state bucket, TLS-only Deny)",
        call="s3 PutBucketPolicy, then every object call on the bucket",
        emulator="evaluates only StringEquals conditions: the Deny on "
        "aws:SecureTransport=false applies to every request, so the S3 backend gets 403",
        handling="shim: GetBucketPolicy returns the policy as written; the emulator "
        "enforces it without the statements that only match plain-HTTP requests "
        "(the emulator's loopback HTTP stands in for AWS's HTTPS)",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        self._written: dict[str, bytes] = {}

    def claims(self, request: Request) -> bool:
        return request.service == "s3" and "policy" in parse_qs(
            request.query, keep_blank_values=True
        )

    def answer(self, request: Request, forward: Forward) -> Reply | None:
        bucket = (request.path or "/").strip("/").split("/", 1)[0]
        if request.method == "PUT":
            return self._put(request, bucket)
        if request.method == "DELETE":
            reply = self.emulator.forward(request.environ)
            with self.lock:
                self._written.pop(bucket, None)
            return reply
        with self.lock:
            stored = self._written.get(bucket)
        if request.method == "GET" and stored is not None:
            self.counts.add("s3 GetBucketPolicy")
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(stored)))]
            return Reply("200 OK", headers, stored)
        return None

    def _put(self, request: Request, bucket: str) -> Reply:
        body = request.body()
        enforced = enforceable_policy(json.loads(body))
        self.counts.add("s3 PutBucketPolicy")
        if enforced is None:
            # Nothing left for the emulator to enforce: remove any policy it holds.
            reply = self.emulator.forward({**request.environ, "REQUEST_METHOD": "DELETE"}, b"")
        else:
            reply = self.emulator.forward(request.environ, json.dumps(enforced).encode())
        if reply.ok:
            with self.lock:
                self._written[bucket] = body
            reply = Reply("204 No Content", [], b"")
        return reply


DELETE_MARKER_GAP = Gap(
    resource="aws_s3_bucket (state bucket, destroy)",
    call="s3 DeleteObjects / DeleteObject of the delete markers the S3 backend's "
    "lock file leaves in the versioned bucket",
    emulator="crashes (HTTP 500: FakeDeleteMarker has no dispose), so force_destroy "
    "never empties the bucket and the provider retries until it times out",
    handling="emulator patch (in the rehearsal's emulator process only, "
    "`patch_emulator`): a delete marker is disposed of as having no data",
)


@for_moto
def patch_delete_markers() -> None:
    """A delete marker can be removed with its bucket (DELETE_MARKER_GAP)."""
    from moto.s3.models import FakeDeleteMarker

    def dispose(self: Any, garbage: bool = False) -> None:
        """A delete marker holds no data to release."""

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]
