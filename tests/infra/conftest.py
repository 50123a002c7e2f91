"""Synthesize each settings variant once per test session and share the output.

Synthesis takes seconds (the jsii kernel loads the AWS provider assembly);
every infra test reads from these few synthesized apps instead of synthesizing
again. Right after synthesis, the background gates that read the output start
(tests/background.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from epoch_settings import Settings, load_settings
from tests import background
from tests.infra.variants import VARIANTS

__all__ = ["VARIANTS", "Synthesized"]


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
    background.runner().synthesized(apps, synth_root)
    return apps


@pytest.fixture(scope="session")
def default_app(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["default"]
