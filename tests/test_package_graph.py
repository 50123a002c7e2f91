"""The project's top-level packages depend on each other in one direction only:
handlers (the Lambda code and its contract) → settings → shared blocks → stacks → app,
with the rehearsal above them all. Local mode and verify sit on handlers: local mode
serves the handlers' own request code (handlers.api, handlers.logs, the contract)."""

from __future__ import annotations

import ast

from tests.conftest import PROJECT_ROOT

# Each package may import only packages of a lower layer (tests and benchmarks
# sit above everything and are left out).
LAYERS = {
    "handlers": 0,
    "epoch_settings": 1,
    "verify": 1,
    # Reads the settings' [api] auth.
    "local_api": 2,
    # Moves the live aliases; its synthetic check is verify's.
    "rollout": 2,
    "epoch_blocks": 2,
    "epoch_constructs": 3,
    "remote_state": 3,
    "epoch_app": 4,
    # The deploy commands around the cdktf CLI (pre-flight, bootstrap, teardown).
    "epoch_ops": 5,
    # Runs synthesized stacks through Terraform; synthesizes through main.py.
    "rehearsal": 6,
}
OUTSIDE = {"tests", "benchmarks", "node_modules", "cdktf.out", "imports", ".gen"}


def top_level_packages() -> set[str]:
    return {
        path.parent.name
        for path in PROJECT_ROOT.glob("*/__init__.py")
        if path.parent.name not in OUTSIDE
    }


def imported_packages(package: str, known: set[str]) -> set[str]:
    """Top-level project packages imported anywhere in `package` (lazy imports too)."""
    found: set[str] = set()
    for source in (PROJECT_ROOT / package).rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {name.split(".")[0] for name in names} & known
    return found - {package}


def import_graph() -> dict[str, set[str]]:
    packages = top_level_packages()
    return {package: imported_packages(package, packages) for package in packages}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_the_layer_table_names_every_top_level_package() -> None:
    assert top_level_packages() == set(LAYERS)


def test_no_cycle_between_top_level_packages() -> None:
    assert find_cycle(import_graph()) is None


def test_each_package_imports_only_lower_layers() -> None:
    upward = {
        (package, target)
        for package, targets in import_graph().items()
        for target in targets
        if LAYERS[target] >= LAYERS[package]
    }
    assert upward == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def settings_importers(packages: tuple[str, ...]) -> set[str]:
    """Modules of `packages` that import the whole `Settings` from epoch_settings."""
    found: set[str] = set()
    for package in packages:
        for source in (PROJECT_ROOT / package).rglob("*.py"):
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("epoch_settings")
                    and any(alias.name == "Settings" for alias in node.names)
                ):
                    found.add(source.relative_to(PROJECT_ROOT).as_posix())
    return found


def test_only_the_stack_reads_the_whole_settings() -> None:
    # Each construct takes a props object of what it reads; the root stack builds
    # them all from Settings, in one place.
    assert settings_importers(("epoch_constructs", "epoch_blocks")) == {"epoch_constructs/stack.py"}
