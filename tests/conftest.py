"""Shared test set-up: quiet jsii, and the project root for subprocess tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# jsii prints a Node end-of-life banner on Node 20; it is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
