"""DynamoDB: the state lock's retried PutItem, and global-table replicas (version 2019.11.21)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rehearsal.shims.core import (
    Counts,
    Emulator,
    Environ,
    Forward,
    Gap,
    Reply,
    Request,
    Shim,
    json_environ,
)
from rehearsal.shims.replay import ReplayShim

_DESCRIBE = "DynamoDB_20120810.DescribeTable"
# AWS's answer to deleting a replica that is not there, which the provider takes as "already gone".
_NO_REPLICA = {
    "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
    "message": "Replica specified in the Replica Update or Replica Delete "
    "action of the request was not found.",
}


class ReplayedLockPut(ReplayShim):
    """A retried PutItem (the S3 backend's lock) gets the first answer again."""

    gap = Gap(
        resource="aws_dynamodb_table (lock table: the S3 backend's state lock)",
        call="dynamodb PutItem of the lock item (attribute_not_exists(LockID)) sent twice: "
        "the client's retry of a request the emulator had already carried out",
        emulator="answers the retry ConditionalCheckFailedException, so Terraform reports "
        "'Error acquiring the state lock' naming its own lock (seen once, user-path "
        "variant, `terraform state push` on a loaded machine)",
        handling="shim: a byte-identical PutItem in the same region within 60 s gets the "
        "first answer again, as a retried create does (a new lock has a new ID and time)",
    )

    def claims(self, request: Request) -> bool:
        return request.target == "DynamoDB_20120810.PutItem"


class TableReplicas(Shim):
    """UpdateTable ReplicaUpdates carried out as tables in the replica regions."""

    gap = Gap(
        resource="aws_dynamodb_table_replica",
        call="dynamodb UpdateTable ReplicaUpdates (global tables version 2019.11.21)",
        emulator="accepts the call and ignores it: no replica is made and DescribeTable "
        "lists none, so the provider waits for the replica until it times out",
        handling="shim: creates the replica as a table of the same schema in the replica "
        "region (its own KMS key), deletes it on Delete, and lists it ACTIVE with its key "
        "in the primary's DescribeTable",
    )

    def __init__(self, emulator: Emulator, counts: Counts) -> None:
        super().__init__(emulator, counts)
        # (primary region, table name) -> {replica region: KMS key id given for it}
        self._replicas: dict[tuple[str, str], dict[str, str]] = {}

    def claims(self, request: Request) -> bool:
        return request.target in ("DynamoDB_20120810.UpdateTable", _DESCRIBE)

    def answer(self, request: Request, forward: Forward) -> Reply:
        if request.target == _DESCRIBE:
            return self._table_reply(request.environ, request.region, request.body())
        return self._update_table(request)

    def _update_table(self, request: Request) -> Reply:
        document = request.json()
        updates = document.pop("ReplicaUpdates", None)
        if not updates:
            return self.emulator.forward(request.environ)
        environ, region = request.environ, request.region
        name = str(document["TableName"])
        if any(k != "TableName" for k in document):
            done = self.emulator.forward(environ, json.dumps(document).encode())
            if not done.ok:
                return done
        for update in updates:
            for action, spec in update.items():
                self.counts.add(f"dynamodb UpdateTable ReplicaUpdates {action}")
                reply = self._replica_update(environ, region, name, action, spec)
                if not reply.ok:
                    return reply
        described = self._table_reply(
            json_environ(environ, region, _DESCRIBE),
            region,
            json.dumps({"TableName": name}).encode(),
        )
        if described.ok:
            # UpdateTable answers with the description under another key.
            table = json.loads(described.body)["Table"]
            described = described.with_body({"TableDescription": table})
        return described

    def _replica_update(
        self, environ: Environ, region: str, name: str, action: str, spec: Mapping[str, Any]
    ) -> Reply:
        replica_region = str(spec["RegionName"])
        if action == "Delete":
            return self._delete_replica(environ, region, name, replica_region)
        if action == "Update":
            with self.lock:
                replicas = self._replicas.setdefault((region, name), {})
                if spec.get("KMSMasterKeyId"):
                    replicas[replica_region] = str(spec["KMSMasterKeyId"])
            return Reply("200 OK", [], b"{}")
        return self._create_replica(environ, region, name, replica_region, spec)

    def _create_replica(
        self,
        environ: Environ,
        region: str,
        name: str,
        replica_region: str,
        spec: Mapping[str, Any],
    ) -> Reply:
        describe = self.emulator.forward(
            json_environ(environ, region, _DESCRIBE), json.dumps({"TableName": name}).encode()
        )
        if not describe.ok:
            return describe
        table = json.loads(describe.body)["Table"]
        key = str(spec.get("KMSMasterKeyId") or "")
        reply = self.emulator.forward(
            json_environ(environ, replica_region, "DynamoDB_20120810.CreateTable"),
            json.dumps(replica_table(table, key)).encode(),
        )
        if reply.ok:
            with self.lock:
                self._replicas.setdefault((region, name), {})[replica_region] = key
        return reply

    def _delete_replica(
        self, environ: Environ, region: str, name: str, replica_region: str
    ) -> Reply:
        with self.lock:
            known = replica_region in self._replicas.get((region, name), {})
        if not known:
            headers = [("Content-Type", "application/x-amz-json-1.0")]
            return Reply("400 Bad Request", headers, json.dumps(_NO_REPLICA).encode())
        reply = self.emulator.forward(
            json_environ(environ, replica_region, "DynamoDB_20120810.DeleteTable"),
            json.dumps({"TableName": name}).encode(),
        )
        with self.lock:
            self._replicas.get((region, name), {}).pop(replica_region, None)
        return reply

    def _table_reply(self, environ: Environ, region: str, body: bytes) -> Reply:
        """DescribeTable, with the replicas the shim made listed as a global table's."""
        name = str(json.loads(body or b"{}").get("TableName", ""))
        reply = self.emulator.forward(environ, body)
        with self.lock:
            replicas = dict(self._replicas.get((region, name), {}))
        if reply.ok and replicas:
            document = json.loads(reply.body)
            document["Table"]["GlobalTableVersion"] = "2019.11.21"
            document["Table"]["Replicas"] = [
                {"RegionName": r, "ReplicaStatus": "ACTIVE", "KMSMasterKeyId": key}
                for r, key in sorted(replicas.items())
            ]
            reply = reply.with_body(document)
        return reply


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
