"""The settings variants every infra test synthesizes, and a command that synthesizes them all.

`python -m tests.infra.variants OUTROOT [--expect-provider VERSION]` writes
OUTROOT/<variant>/cdktf.out for every variant, then prints one JSON line:
whether the fast provider-binding load was used and how many provider
submodules were loaded. `--expect-provider` pretends the fast path was pinned
to another provider version (to test its fallback). It ends through
`fast_bindings.run_and_exit`, as `main.py` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from epoch_app import fast_bindings

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS_DIR = Path(__file__).resolve().parent / "settings"

# name -> settings file (the default deployment is the checked-in settings.toml).
VARIANTS: dict[str, Path] = {
    "default": PROJECT_ROOT / "settings.toml",
    "three_regions": SETTINGS_DIR / "three_regions.toml",
    "weighted_records": SETTINGS_DIR / "weighted_records.toml",
    "latency_on_demand_eu": SETTINGS_DIR / "latency_on_demand_eu.toml",
    "deploy_role": SETTINGS_DIR / "deploy_role.toml",
    "limits": SETTINGS_DIR / "limits.toml",
    "auth_jwt": SETTINGS_DIR / "auth_jwt.toml",
    "auth_api_key": SETTINGS_DIR / "auth_api_key.toml",
    "canary": SETTINGS_DIR / "canary.toml",
}


def provider_modules_loaded() -> list[str]:
    """The provider submodules in this process (not `_jsii`, not publication's `_private`)."""
    prefix = f"{fast_bindings.PACKAGE}."
    return sorted(
        name
        for name in sys.modules
        if name.startswith(prefix) and "." not in name[len(prefix) :] and name != f"{prefix}_jsii"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.variants")
    parser.add_argument("outroot", type=Path)
    parser.add_argument("--expect-provider", metavar="VERSION")
    args = parser.parse_args(argv)
    if args.expect_provider:
        fast_bindings.PINNED = {
            **fast_bindings.PINNED,
            "cdktf-cdktf-provider-aws": args.expect_provider,
        }
    fast_bindings.install()

    # As main.py imports them.
    with fast_bindings.loading_bindings():
        from epoch_app.app import synth_to
        from epoch_settings import load_settings

    for name, path in VARIANTS.items():
        synth_to(load_settings(path), args.outroot / name / "cdktf.out")
    report = {
        "fast": fast_bindings.is_installed(),
        "provider_modules": len(provider_modules_loaded()),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    fast_bindings.run_and_exit(main, sys.argv[1:])
