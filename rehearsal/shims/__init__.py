"""A WSGI layer in front of the emulator (moto) answering the few calls it lacks or gets wrong,
and the few patches of moto itself in the emulator process.

One module per AWS service; in it, one unit per gap (a `Shim` class, or a patch
function for the emulator process), each with its own `Gap` entry. GAPS
gathers them (printed by the rehearsal, tabled in docs/rehearsal.md). The
product is never changed to please the emulator: only what the emulator says
back is patched. The patches of moto refuse to run on another moto than
`MOTO_VERSION` (rehearsal/shims/moto_version.py).
"""

from __future__ import annotations

from rehearsal.shims import budgets, execute_api
from rehearsal.shims.autoscaling import ScalableTargetTags
from rehearsal.shims.budgets import patch_budgets
from rehearsal.shims.core import Gap, credential_scope
from rehearsal.shims.dynamodb import ReplayedLockPut, TableReplicas, replica_table
from rehearsal.shims.kms import REPLICA_ALIASES_GAP, ReplicaKeySettings, patch_replica_aliases
from rehearsal.shims.lambda_functions import (
    LoggingConfigs,
    ProvisionedConcurrency,
    ReplayedLambdaPost,
    add_logging_configs,
    function_name,
)
from rehearsal.shims.middleware import SERIAL_GAP, EmulatorShims
from rehearsal.shims.moto_version import MOTO_VERSION, EmulatorVersionError, require_moto
from rehearsal.shims.replay import ReplayedJsonCreate
from rehearsal.shims.route53 import TrafficPolicies
from rehearsal.shims.s3 import (
    DELETE_MARKER_GAP,
    BucketPolicies,
    enforceable_policy,
    patch_delete_markers,
)
from rehearsal.shims.xray import SamplingRules

GAPS: tuple[Gap, ...] = (
    SERIAL_GAP,
    ReplayedLambdaPost.gap,
    ReplayedJsonCreate.gap,
    ReplayedLockPut.gap,
    LoggingConfigs.gap,
    TableReplicas.gap,
    ScalableTargetTags.gap,
    REPLICA_ALIASES_GAP,
    ReplicaKeySettings.gap,
    ProvisionedConcurrency.gap,
    execute_api.GAP,
    TrafficPolicies.gap,
    DELETE_MARKER_GAP,
    BucketPolicies.gap,
    budgets.GAP,
    SamplingRules.gap,
)


def patch_emulator() -> None:
    """Every patch of moto, in the emulator process only; raises EmulatorVersionError
    (before changing anything) on another moto than MOTO_VERSION."""
    require_moto()
    patch_replica_aliases()
    patch_delete_markers()
    patch_budgets()


__all__ = [
    "GAPS",
    "MOTO_VERSION",
    "EmulatorShims",
    "EmulatorVersionError",
    "Gap",
    "add_logging_configs",
    "credential_scope",
    "enforceable_policy",
    "function_name",
    "patch_emulator",
    "replica_table",
    "require_moto",
]
