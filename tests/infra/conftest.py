"""Synthesize each settings variant once per test session and share the output.

The AWS provider bindings take many seconds to import; every infra test reads
from these few synthesized apps instead of synthesizing again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from epoch_settings import Settings, load_settings
from tests.conftest import PROJECT_ROOT

SETTINGS_DIR = Path(__file__).resolve().parent / "settings"


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app: its settings, output folder and stacks."""

    name: str
    settings: Settings
    outdir: Path

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def stack_text(self, stack: str) -> str:
        """The stack's Terraform JSON as text (what cdktf's `Testing` helpers take)."""
        return (self.stack_dir(stack) / "cdk.tf.json").read_text(encoding="utf-8")

    def stack(self, stack: str) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.stack_text(stack))
        return parsed

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = (
            self.stack(stack).get("resource", {}).get(resource_type, {})
        )
        return found

    def data_sources(self, stack: str, data_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.stack(stack).get("data", {}).get(data_type, {})
        return found


# name -> settings file (the default deployment is the checked-in settings.toml).
VARIANTS: dict[str, Path] = {
    "default": PROJECT_ROOT / "settings.toml",
    "three_regions": SETTINGS_DIR / "three_regions.toml",
    "weighted_records": SETTINGS_DIR / "weighted_records.toml",
    "latency_on_demand_eu": SETTINGS_DIR / "latency_on_demand_eu.toml",
    "deploy_role": SETTINGS_DIR / "deploy_role.toml",
}


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding every variant's output, so whole-output scans run once."""
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def synthesized_apps(synth_root: Path) -> dict[str, Synthesized]:
    from epoch_app.app import synth_to

    apps: dict[str, Synthesized] = {}
    for name, path in VARIANTS.items():
        settings = load_settings(path)
        outdir = synth_root / name / "cdktf.out"
        synth_to(settings, outdir)
        apps[name] = Synthesized(name=name, settings=settings, outdir=outdir)
    return apps


@pytest.fixture(scope="session")
def default_app(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["default"]
