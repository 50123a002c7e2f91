"""API Gateway's execute-api endpoints: no shim, the rollout's synthetic check goes elsewhere.

The handling lives in rehearsal/rollout_steps.py (one local-mode server per region).
"""

from __future__ import annotations

from rehearsal.shims.core import Gap

GAP = Gap(
    resource="aws_api_gateway_stage (the rollout's synthetic check)",
    call="HTTPS requests to a region's own endpoint, "
    "https://<api id>.execute-api.<region>.amazonaws.com/v1 (output <region>_endpoint)",
    emulator="serves no execute-api host, and its API Gateway would not run the Lambda "
    "code anyway (no Lambda code runs in the emulator)",
    handling="the rehearsal's canary rollout points the synthetic check at one local-mode "
    "server per region (the same handlers over dynalite) with `--region-endpoint`; "
    "the rollout's AWS calls (aliases, alarms) go to the emulator",
)
