"""Application Auto Scaling: the scalable targets' tags."""

from __future__ import annotations

import json

from rehearsal.shims.core import Counts, Emulator, Forward, Gap, Reply, Request, Shim, json_reply

_SERVICE = "AnyScaleFrontendService."
_TAG_CALLS = ("ListTagsForResource", "TagResource", "UntagResource")


class ScalableTargetTags(Shim):
    """Tags kept from RegisterScalableTarget and TagResource, answered by the tag calls."""

    gap = Gap(
        resource="aws_appautoscaling_target",
        call="application-autoscaling ListTagsForResource / TagResource / UntagResource",
        emulator="not implemented (HTTP 500); the provider retries until it times out",
        handling="shim: keeps the tags sent with RegisterScalableTarget/TagResource per "
        "target ARN and answers the three calls from them",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        self._tags: dict[str, dict[str, str]] = {}

    def claims(self, request: Request) -> bool:
        action = request.target.removeprefix(_SERVICE)
        return request.target.startswith(_SERVICE) and (
            action in _TAG_CALLS or action == "RegisterScalableTarget"
        )

    def answer(self, request: Request, forward: Forward) -> Reply:
        action = request.target.removeprefix(_SERVICE)
        if action == "RegisterScalableTarget":
            return self._register(request)
        return self._tag_call(action, request)

    def _register(self, request: Request) -> Reply:
        tags = request.json().get("Tags")
        reply = self.emulator.forward(request.environ)
        if reply.ok and tags:
            arn = json.loads(reply.body).get("ScalableTargetARN")
            if arn:
                self.counts.add("application-autoscaling RegisterScalableTarget tags")
                with self.lock:
                    self._tags.setdefault(arn, {}).update(tags)
        return reply

    def _tag_call(self, action: str, request: Request) -> Reply:
        sent = request.json()
        arn = str(sent.get("ResourceARN", ""))
        self.counts.add(f"application-autoscaling {action}")
        with self.lock:
            tags = self._tags.setdefault(arn, {})
            if action == "TagResource":
                tags.update(sent.get("Tags") or {})
                return json_reply({})
            if action == "UntagResource":
                for key in sent.get("TagKeys") or []:
                    tags.pop(key, None)
                return json_reply({})
            return json_reply({"Tags": dict(tags)})
