"""The design card's `constructs/` folder is `epoch_constructs/`: nothing may shadow the library."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import constructs

from tests.conftest import PROJECT_ROOT


def test_constructs_resolves_to_the_installed_library() -> None:
    location = Path(constructs.__file__).resolve()
    assert "site-packages" in location.parts
    assert location.parent != PROJECT_ROOT / "constructs"
    # The jsii assembly is what a shadowing package lacks ("No module named 'constructs._jsii'").
    assert importlib.util.find_spec("constructs._jsii") is not None
    assert hasattr(constructs, "Construct")


def test_no_top_level_package_shadows_constructs() -> None:
    assert not (PROJECT_ROOT / "constructs").exists()
    assert not (PROJECT_ROOT / "constructs.py").exists()
