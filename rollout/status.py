"""`--status`: per region and function, what the alias serves and what is pending."""

from __future__ import annotations

from rollout.aws import BAKED, BAKING, ROLLED_BACK, AliasState, RegionAws
from rollout.plan import FunctionTarget, Plan


def describe(function: FunctionTarget, state: AliasState) -> str:
    target, record = function.version, state.record
    ours = record is not None and record.target == target
    if state.primary == target and not state.weights:
        if ours and record is not None and record.status == BAKING:
            return "new version at 100 %, last bake not finished (run again to finish it)"
        return "up to date"
    if state.share_of(target) > 0:
        return (
            f"rollout in progress: {state.share_of(target):.0f} % on {target} (run again to resume)"
        )
    if ours and record is not None and record.status == ROLLED_BACK:
        return f"{target} pending (rolled back; run again to retry)"
    return f"{target} pending"


def status_lines(plan: Plan, aws: dict[str, RegionAws]) -> list[str]:
    rows = [("region", "function", "serves", "newest", "state")]
    alarm_lines = []
    for region in plan.regions:
        client = aws[region.region]
        for function in region.functions:
            state = client.alias(function.name, region.alias)
            text = describe(function, state)
            if state.record is not None and state.record.status in (BAKED, BAKING, ROLLED_BACK):
                text += f"; before the rollout: {state.record.previous}"
            rows.append((region.region, function.logical, state.describe(), function.version, text))
        states = client.alarm_states(region.alarms)
        counts = {
            kind: sum(1 for a in region.alarms if states.get(a) == kind)
            for kind in ("OK", "ALARM", "INSUFFICIENT_DATA")
        }
        missing = sum(1 for a in region.alarms if a not in states)
        firing = [a for a in region.alarms if states.get(a) == "ALARM"]
        line = (
            f"  {region.region}: {counts['OK']} OK, {counts['ALARM']} ALARM, "
            f"{counts['INSUFFICIENT_DATA']} without data"
        )
        if missing:
            line += f", {missing} not found"
        if firing:
            line += f" ({', '.join(firing)})"
        alarm_lines.append(line)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join([*(row[i].ljust(widths[i]) for i in range(4)), row[4]]).rstrip() for row in rows
    ]
    return [*lines, "", "gating alarms:", *alarm_lines]
