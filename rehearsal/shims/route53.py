"""Route 53: traffic policies (with versions) and traffic policy instances."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from rehearsal.shims.core import Counts, Emulator, Forward, Gap, Reply, Request, Shim

_ROUTE53 = "/2013-04-01/"
_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
_POLICY_FIELDS = ("Id", "Version", "Name", "Type", "Document", "Comment")
_INSTANCE_FIELDS = (
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

Fields = dict[str, str]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(status: str, root: str, inner: str) -> Reply:
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_NS}">{inner}</{root}>'
    body = xml.encode()
    return Reply(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body)


def _error(status: str, code: str, message: str) -> Reply:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{_NS}"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{_esc(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return Reply(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body)


def _no_policy(which: str) -> Reply:
    return _error("404 Not Found", "NoSuchTrafficPolicy", f"no traffic policy {which}")


def _new_policy(policy_id: str, version: int, request: Mapping[str, str]) -> Fields:
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


def _element(name: str, fields: tuple[str, ...], record: Mapping[str, str]) -> str:
    return f"<{name}>" + "".join(f"<{f}>{_esc(record[f])}</{f}>" for f in fields) + f"</{name}>"


def _policy_xml(policy: Mapping[str, str]) -> str:
    return _element("TrafficPolicy", _POLICY_FIELDS, policy)


def _instance_xml(instance: Mapping[str, str]) -> str:
    return _element("TrafficPolicyInstance", _INSTANCE_FIELDS, instance)


class TrafficPolicies(Shim):
    """The traffic policy and traffic policy instance calls, answered from what was created."""

    gap = Gap(
        resource="aws_route53_traffic_policy, aws_route53_traffic_policy_instance",
        call="route53 Create/Get/List/Delete TrafficPolicy (and Versions), "
        "Create/Get/Update/List/Delete TrafficPolicyInstance",
        emulator="not implemented (HTTP 404 for the URLs)",
        handling="shim: keeps policies (document, versions) and instances and answers "
        "these calls; an instance is reported Applied at once",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        self._policies: dict[str, list[Fields]] = {}
        self._instances: dict[str, Fields] = {}

    def claims(self, request: Request) -> bool:
        return request.path.startswith(_ROUTE53 + "trafficpolic")

    def answer(self, request: Request, forward: Forward) -> Reply:
        relative = request.path[len(_ROUTE53) :]
        parts = relative.strip("/").split("/")
        self.counts.add(f"route53 {request.method} {parts[0]}")
        sent = None
        if request.method == "POST":
            body = request.body()
            # The provider on loopback is the only client; its XML carries no entities.
            root = ET.fromstring(body) if body else None  # noqa: S314
            sent = {_local(e.tag): (e.text or "") for e in root} if root is not None else {}
        with self.lock:
            return self._route(request.method, parts, sent, relative)

    def _route(self, method: str, parts: list[str], sent: Fields | None, path: str) -> Reply:
        if parts[0] == "trafficpolicy":
            return self._policy(method, parts[1:], sent)
        if parts[0] == "trafficpolicies" and len(parts) == 1:
            return _xml("200 OK", "ListTrafficPoliciesResponse", self._policy_summaries())
        if parts[0] == "trafficpolicies":
            return _xml("200 OK", "ListTrafficPolicyVersionsResponse", self._versions(parts[1]))
        if parts[0] == "trafficpolicyinstance":
            return self._instance(method, parts[1:], sent)
        if parts[0] == "trafficpolicyinstances":
            inner = (
                "<TrafficPolicyInstances>"
                + "".join(_instance_xml(i) for i in self._instances.values())
                + "</TrafficPolicyInstances>"
                + "<IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>"
            )
            return _xml("200 OK", "ListTrafficPolicyInstancesResponse", inner)
        return _error("400 Bad Request", "InvalidInput", f"unknown {path}")

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

    def _versions(self, policy_id: str) -> str:
        versions = self._policies.get(policy_id, [])
        return (
            "<TrafficPolicies>"
            + "".join(_policy_xml(p) for p in versions)
            + "</TrafficPolicies>"
            + "<IsTruncated>false</IsTruncated><TrafficPolicyVersionMarker/>"
            + "<MaxItems>100</MaxItems>"
        )

    # -- /trafficpolicy[/<id>[/<version>]] -------------------------------------

    def _policy(self, method: str, parts: list[str], sent: Fields | None) -> Reply:
        if method == "POST" and not parts:
            assert sent is not None
            return self._create_policy(sent)
        if method == "POST" and len(parts) == 1:
            assert sent is not None
            return self._create_version(parts[0], sent)
        versions = self._policies.get(parts[0], []) if parts else []
        policy = next((p for p in versions if len(parts) > 1 and p["Version"] == parts[1]), None)
        if policy is None:
            return _no_policy("/".join(parts))
        if method == "GET":
            return _xml("200 OK", "GetTrafficPolicyResponse", _policy_xml(policy))
        if method == "POST":
            assert sent is not None
            policy["Comment"] = sent.get("Comment", "")
            return _xml("200 OK", "UpdateTrafficPolicyCommentResponse", _policy_xml(policy))
        if method == "DELETE":
            return self._delete_policy(parts[0], versions, policy)
        return _no_policy("/".join(parts))

    def _create_policy(self, sent: Fields) -> Reply:
        policy_id = str(uuid.uuid4())
        self._policies[policy_id] = [_new_policy(policy_id, 1, sent)]
        return _xml(
            "201 Created",
            "CreateTrafficPolicyResponse",
            _policy_xml(self._policies[policy_id][-1]),
        )

    def _create_version(self, policy_id: str, sent: Fields) -> Reply:
        versions = self._policies.get(policy_id)
        if not versions:
            return _no_policy(policy_id)
        sent.setdefault("Name", versions[-1]["Name"])
        versions.append(_new_policy(policy_id, int(versions[-1]["Version"]) + 1, sent))
        return _xml("201 Created", "CreateTrafficPolicyVersionResponse", _policy_xml(versions[-1]))

    def _delete_policy(self, policy_id: str, versions: list[Fields], policy: Fields) -> Reply:
        in_use = [
            i
            for i in self._instances.values()
            if i["TrafficPolicyId"] == policy["Id"]
            and i["TrafficPolicyVersion"] == policy["Version"]
        ]
        if in_use:
            return _error(
                "400 Bad Request",
                "TrafficPolicyInUse",
                "a traffic policy instance uses this version",
            )
        versions.remove(policy)
        if not versions:
            del self._policies[policy_id]
        return _xml("200 OK", "DeleteTrafficPolicyResponse", "")

    # -- /trafficpolicyinstance[/<id>] -----------------------------------------

    def _instance(self, method: str, parts: list[str], sent: Fields | None) -> Reply:
        if method == "POST" and not parts:
            assert sent is not None
            return self._create_instance(sent)
        instance = self._instances.get(parts[0]) if parts else None
        if instance is None:
            return _error(
                "404 Not Found",
                "NoSuchTrafficPolicyInstance",
                f"no traffic policy instance {'/'.join(parts)}",
            )
        if method == "GET":
            return _xml("200 OK", "GetTrafficPolicyInstanceResponse", _instance_xml(instance))
        if method == "POST":
            assert sent is not None
            for field_name in ("TTL", "TrafficPolicyId", "TrafficPolicyVersion"):
                if field_name in sent:
                    instance[field_name] = sent[field_name]
            return _xml("200 OK", "UpdateTrafficPolicyInstanceResponse", _instance_xml(instance))
        if method == "DELETE":
            del self._instances[parts[0]]
            return _xml("200 OK", "DeleteTrafficPolicyInstanceResponse", "")
        return _error("400 Bad Request", "InvalidInput", method)

    def _create_instance(self, sent: Fields) -> Reply:
        versions = self._policies.get(sent.get("TrafficPolicyId", ""), [])
        policy = next(
            (p for p in versions if p["Version"] == sent.get("TrafficPolicyVersion")), None
        )
        if policy is None:
            return _no_policy(str(sent.get("TrafficPolicyId")))
        instance_id = str(uuid.uuid4())
        self._instances[instance_id] = {
            "Id": instance_id,
            "HostedZoneId": sent.get("HostedZoneId", ""),
            "Name": sent.get("Name", ""),
            "TTL": sent.get("TTL", "60"),
            "State": "Applied",
            "Message": "",
            "TrafficPolicyId": policy["Id"],
            "TrafficPolicyVersion": policy["Version"],
            "TrafficPolicyType": policy["Type"],
        }
        return _xml(
            "201 Created",
            "CreateTrafficPolicyInstanceResponse",
            _instance_xml(self._instances[instance_id]),
        )
