"""Shared test set-up: quiet jsii, the fast provider-binding load, background gates,
and the project root for subprocess tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from epoch_app import fast_bindings
from local_api.dynalite import Dynalite, DynaliteError
from tests import background
from tests.background import Gate

# jsii prints a Node end-of-life banner on Node 20; it is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Before any test module imports the provider bindings: load only the ones used.
fast_bindings.install()

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def dynalite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    """One real dynalite server (HTTP on loopback) for every test that needs a database."""
    server = Dynalite(Path(tmp_path_factory.mktemp("dynalite")))
    try:
        server.start()
    except DynaliteError as exc:
        pytest.fail(f"cannot start dynalite for the tests: {exc}")
    yield server
    server.stop()


def _gates(item: pytest.Item) -> list[Gate[Any]]:
    return [gate for mark in item.iter_markers("background") for gate in mark.args]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests awaiting a background gate go last: the gate has the whole session to finish.
    items.sort(key=lambda item: bool(_gates(item)))


def pytest_collection_finish(session: pytest.Session) -> None:
    gates = {id(gate): gate for item in session.items for gate in _gates(item)}
    if gates and not session.config.option.collectonly:
        background.runner().start(gates.values())


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_REPORT] = background.shutdown()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_REPORT, [])
    if lines:
        terminalreporter.write_sep("-", f"background gates ({background.workers()} worker(s))")
        for line in lines:
            terminalreporter.write_line(line)
