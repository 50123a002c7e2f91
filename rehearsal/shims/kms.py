"""KMS: what ReplicateKey leaves out, and the replica's own aliases (an emulator patch)."""

from __future__ import annotations

import copy
import json
from typing import Any

from rehearsal.shims.core import Forward, Gap, Reply, Request, Shim, json_environ
from rehearsal.shims.moto_version import for_moto


class ReplicaKeySettings(Shim):
    """After ReplicateKey, the request's description, policy and tags applied to the replica."""

    gap = Gap(
        resource="aws_kms_replica_key",
        call="kms ReplicateKey",
        emulator="ignores the request's Description, Policy and Tags; the provider waits "
        "for the tags to appear until it times out",
        handling="shim: after ReplicateKey, applies them to the new replica with "
        "UpdateKeyDescription, PutKeyPolicy and TagResource in the replica region",
    )

    def claims(self, request: Request) -> bool:
        return request.target == "TrentService.ReplicateKey"

    def answer(self, request: Request, forward: Forward) -> Reply:
        sent = request.json()
        reply = self.emulator.forward(request.environ)
        if not reply.ok:
            return reply
        replica_id = json.loads(reply.body)["ReplicaKeyMetadata"]["KeyId"]
        region = str(sent["ReplicaRegion"])
        for action, document in follow_ups(sent, replica_id):
            self.counts.add(f"kms ReplicateKey -> {action}")
            done = self.emulator.forward(
                json_environ(request.environ, region, f"TrentService.{action}"),
                json.dumps(document).encode(),
            )
            if not done.ok:
                return done
        return reply


def follow_ups(sent: dict[str, Any], replica_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The calls that give the replica what the ReplicateKey request `sent` asked for."""
    calls: list[tuple[str, dict[str, Any]]] = []
    if sent.get("Description") is not None:
        calls.append(
            ("UpdateKeyDescription", {"KeyId": replica_id, "Description": sent["Description"]})
        )
    if sent.get("Policy"):
        policy = {"KeyId": replica_id, "PolicyName": "default", "Policy": sent["Policy"]}
        calls.append(("PutKeyPolicy", policy))
    if sent.get("Tags"):
        calls.append(("TagResource", {"KeyId": replica_id, "Tags": sent["Tags"]}))
    return calls


REPLICA_ALIASES_GAP = Gap(
    resource="aws_kms_replica_key, aws_kms_alias (replica region)",
    call="kms ReplicateKey, then CreateAlias in the replica region",
    emulator="the replica is a shallow copy sharing the primary's alias list and "
    "multi-region configuration: CreateAlias in the replica region fails with "
    "AlreadyExistsException, and describing the replica relabels the primary REPLICA",
    handling="emulator patch (in the rehearsal's emulator process only, "
    "`patch_emulator`): the replica gets its own empty alias list and its own "
    "copy of the configuration, typed REPLICA",
)


@for_moto
def patch_replica_aliases() -> None:
    """A replica key gets its own aliases and multi-region configuration (REPLICA_ALIASES_GAP)."""
    from moto.kms.models import KmsBackend

    original = KmsBackend.replicate_key

    def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
        replica = original(self, key_id, replica_region)
        replica.aliases = {}
        configuration = copy.deepcopy(replica.multi_region_configuration)
        configuration["MultiRegionKeyType"] = "REPLICA"
        replica.multi_region_configuration = configuration
        return replica

    KmsBackend.replicate_key = replicate_key  # type: ignore[method-assign]
