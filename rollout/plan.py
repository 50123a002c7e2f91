"""What to roll out, from the root stack's outputs (`rollout_settings`, `<region>_rollout`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verify.inputs import InputError, check_url

SETTINGS_OUTPUT = "rollout_settings"
REGION_SUFFIX = "_rollout"


@dataclass(frozen=True)
class FunctionTarget:
    logical: str  # a name of contract.FUNCTION_HANDLERS (register, ...)
    name: str
    version: str  # the newest published version (what the rollout moves to)


@dataclass(frozen=True)
class RegionPlan:
    region: str
    endpoint: str
    alias: str
    functions: tuple[FunctionTarget, ...]
    alarms: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    regions: tuple[RegionPlan, ...]  # in rollout order
    shares: tuple[int, ...]  # percent on the new version per step, the last 100
    bake_seconds: float

    def region(self, name: str) -> RegionPlan:
        return next(r for r in self.regions if r.region == name)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise InputError(f"{what} is missing or not a string")
    return str(value)


def plan_from_outputs(outputs: dict[str, Any], source: str) -> Plan:
    """The rollout plan, or InputError with one line when the outputs cannot give one."""
    settings = outputs.get(SETTINGS_OUTPUT)
    if not isinstance(settings, dict):
        raise InputError(_no_settings(outputs, source))
    order = settings.get("region_order")
    shares = settings.get("shares")
    bake = settings.get("bake_seconds")
    if not isinstance(order, list) or not order:
        raise InputError(f"{source}: {SETTINGS_OUTPUT}.region_order is missing")
    if not isinstance(shares, list) or not shares or shares[-1] != 100:
        raise InputError(f"{source}: {SETTINGS_OUTPUT}.shares must end at 100")
    if not isinstance(bake, int | float) or bake <= 0:
        raise InputError(f"{source}: {SETTINGS_OUTPUT}.bake_seconds is missing")
    return Plan(
        regions=tuple(_region_plan(outputs, str(region), source) for region in order),
        shares=tuple(int(s) for s in shares),
        bake_seconds=float(bake),
    )


def _no_settings(outputs: dict[str, Any], source: str) -> str:
    if any(name.endswith("_endpoint") for name in outputs):
        return (
            f"{source} has no {SETTINGS_OUTPUT} output: the stack was deployed with "
            'rollout.mode = "all-at-once", where every apply moves the aliases itself '
            '(set rollout.mode = "canary" and apply; see docs/rollout.md)'
        )
    return f"{source} has no {SETTINGS_OUTPUT} output: is the stack deployed?"


def _region_plan(outputs: dict[str, Any], region: str, source: str) -> RegionPlan:
    """One region's plan from its `<region>_rollout` output."""
    name = f"{region.replace('-', '_')}{REGION_SUFFIX}"
    entry = outputs.get(name)
    if not isinstance(entry, dict):
        raise InputError(f"{source} has no {name} output for region {region}")
    functions = entry.get("functions")
    if not isinstance(functions, dict) or not functions:
        raise InputError(f"{source}: {name}.functions is missing")
    alarms = entry.get("alarms")
    if not isinstance(alarms, list) or not all(isinstance(a, str) for a in alarms):
        raise InputError(f"{source}: {name}.alarms must be a list of alarm names")
    return RegionPlan(
        region=region,
        endpoint=check_url(_text(entry.get("endpoint"), f"{name}.endpoint"), name),
        alias=_text(entry.get("alias"), f"{name}.alias"),
        functions=tuple(
            _function(f"{name}.{logical}", logical, fn) for logical, fn in sorted(functions.items())
        ),
        alarms=tuple(alarms),
    )


def _function(what: str, logical: str, fn: Any) -> FunctionTarget:
    fields = fn if isinstance(fn, dict) else {}
    return FunctionTarget(
        logical=logical,
        name=_text(fields.get("name"), what),
        version=_text(fields.get("version"), f"{what}.version"),
    )
