"""The fast provider-binding load and exit (epoch_app/fast_bindings.py).

It must give the same output as the normal import, byte for byte, for every
variant; fall back to the normal import, with one warning line, when the
installed versions are not the pinned ones; fail loudly on a type it did not
register; and end `main.py` with the right exit code and nothing lost.
"""

from __future__ import annotations

import filecmp
import gc
import importlib
import json
import os
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from jsii import _reference_map
from jsii._kernel.types import ObjRef

from epoch_app import fast_bindings
from tests.background import Gate
from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import Synthesized
from tests.infra.variants import VARIANTS, provider_modules_loaded

# The provider's submodule count in 21.22.1 (one per resource and data source).
PROVIDER_SUBMODULES = 2213
FAKE_PIN = "0.0.0-fake"
QUIET = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    outdir: Path


def run(scratch: Path, *command: str, env: dict[str, str] | None = None) -> Run:
    result = subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT_ROOT,
        env={**QUIET, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, scratch)


def eager_synth(scratch: Path) -> Run:
    """Every variant through the normal import: the fast path's fallback (version mismatch)."""
    return run(scratch, "-m", "tests.infra.variants", str(scratch), "--expect-provider", FAKE_PIN)


def main_synth(scratch: Path) -> Run:
    """`python main.py` (fast path, fast exit) on the default settings."""
    outdir = scratch / "cdktf.out"
    return run(scratch, "main.py", env={"CDKTF_OUTDIR": str(outdir)})


EAGER = Gate("eager synth", eager_synth)
MAIN = Gate("main.py synth", main_synth)


def differences(left: Path, right: Path) -> list[str]:
    """Files that differ between two trees, or exist in only one (byte comparison)."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(f"only in one: {prefix}{n}" for n in cmp.left_only + cmp.right_only)
        found.extend(f"differs: {prefix}{n}" for n in cmp.funny_files)
        _match, mismatch, errors = filecmp.cmpfiles(
            cmp.left, cmp.right, cmp.common_files, shallow=False
        )
        found.extend(f"differs: {prefix}{n}" for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return found


def test_session_loads_only_the_provider_modules_it_uses(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    assert fast_bindings.is_installed(), "the test session is not on the fast path"
    loaded = provider_modules_loaded()
    assert 0 < len(loaded) < PROVIDER_SUBMODULES // 20, loaded


def test_loaded_provider_modules_reference_no_other_provider_module(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    # Whatever a provider class can hand back (OutputReference, List, struct,
    # enum) is defined in its own submodule or in cdktf/constructs: generated
    # submodules import no sibling. Were one to, its types could be unregistered.
    # (`_private` is the module itself, from `publication.publish()`.)
    prefix = f"{fast_bindings.PACKAGE}."
    assembly = f"{fast_bindings.PACKAGE}._jsii"
    checked = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(prefix) or name.startswith(assembly):
            continue
        checked += 1
        for value in vars(module).values():
            if isinstance(value, types.ModuleType) and value.__name__.startswith(prefix):
                used = value.__name__.split(".")[1]
                assert used in {"_jsii", name.split(".")[1]}, f"{name} uses {value.__name__}"
    assert checked > 0


def test_a_type_of_an_unloaded_provider_module_fails_loudly() -> None:
    unloaded = f"{fast_bindings.PACKAGE}.sagemaker_domain"
    assert unloaded not in sys.modules
    ref = ObjRef(ref="@cdktf/provider-aws.sagemakerDomain.SagemakerDomain@10000")
    with pytest.raises(ValueError, match=r"Unknown type: @cdktf/provider-aws\.sagemakerDomain"):
        _reference_map.resolve_reference(None, ref)  # type: ignore[no-untyped-call]
    assert unloaded not in sys.modules


def test_version_mismatches_name_what_is_installed_and_what_was_expected() -> None:
    assert fast_bindings.version_mismatches() == []
    assert fast_bindings.version_mismatches({"jsii": "0.0.1", "no-such-dist": "1"}) == [
        f"jsii {fast_bindings.PINNED['jsii']} (expected 0.0.1)",
        "no-such-dist missing (expected 1)",
    ]


@pytest.mark.background(EAGER)
def test_fallback_warns_once_and_imports_every_provider_module() -> None:
    result = EAGER.result()
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning: fast provider-binding load off")
    assert f"expected {FAKE_PIN}" in warning
    report = json.loads(result.stdout)
    assert report["fast"] is False
    assert report["provider_modules"] == PROVIDER_SUBMODULES


@pytest.mark.background(EAGER)
def test_fast_and_normal_import_give_byte_identical_output(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    eager = EAGER.result()
    assert eager.returncode == 0, eager.stderr
    for name in VARIANTS:
        fast_out = synthesized_apps[name].outdir
        assert differences(fast_out, eager.outdir / name / "cdktf.out") == [], name


@pytest.mark.background(MAIN)
def test_main_ends_fast_with_complete_output_and_clean_streams(default_app: Synthesized) -> None:
    result = MAIN.result()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    assert differences(default_app.outdir, result.outdir / "cdktf.out") == []


def exit_with(body: str) -> subprocess.CompletedProcess[str]:
    program = (
        "import sys\n"
        "from epoch_app.fast_bindings import run_and_exit\n"
        f"def main(argv):\n    print('written')\n    {body}\n"
        "run_and_exit(main, sys.argv[1:])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("body", "code", "stderr"),
    [
        ("return 0", 0, ""),
        ("return 2", 2, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('stopped')", 1, "stopped\n"),
        ("raise RuntimeError('boom')", 1, "RuntimeError: boom\n"),
    ],
)
def test_run_and_exit_keeps_exit_code_output_and_traceback(
    body: str, code: int, stderr: str
) -> None:
    result = exit_with(body)
    assert result.returncode == code
    assert result.stdout == "written\n"
    assert result.stderr.endswith(stderr)
    assert ("Traceback" in result.stderr) == ("raise" in body)


def test_loading_bindings_pauses_the_collector_and_freezes_what_was_imported() -> None:
    frozen = gc.get_freeze_count()
    with fast_bindings.loading_bindings():
        assert not gc.isenabled()
        kept = [types.SimpleNamespace() for _ in range(10)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept)
    with pytest.raises(ModuleNotFoundError), fast_bindings.loading_bindings():
        importlib.import_module("no_such_module")
    assert gc.isenabled()
