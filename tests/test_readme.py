"""The README's layout tree and links stay true to the repository."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
LAYOUT = README.split("## Layout", 1)[1].split("```\n", 2)[1]
# Made by tools, not part of the source (.gitignore).
GENERATED = {"node_modules", "cdktf.out", "imports", "__pycache__", "__snapshots__"}


def test_the_layout_names_every_top_level_folder() -> None:
    folders = {
        path.name
        for path in PROJECT_ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in GENERATED
    }
    missing = {name for name in folders if f"{name}/" not in LAYOUT}
    assert missing == set()


def test_the_layout_names_every_infrastructure_module() -> None:
    modules = {
        path.name
        for package in ("epoch_blocks", "epoch_constructs", "epoch_app", "remote_state")
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and path.parent.name != "__pycache__"
    }
    # remote_state/ has a single module; the layout describes the package.
    missing = {name for name in modules - {"stack.py"} if name not in LAYOUT}
    assert missing == set()


def test_every_docs_page_is_linked_and_every_local_link_resolves() -> None:
    links = set(re.findall(r"\]\((docs/[^)#]+)", README))
    pages = {f"docs/{path.name}" for path in (PROJECT_ROOT / "docs").glob("*.md")}
    assert pages <= links
    for page in (PROJECT_ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([a-z-]+\.md)", page.read_text()):
            assert (PROJECT_ROOT / "docs" / target).exists(), f"{page.name} -> {target}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    quick_start = README.split("**Set up and run every test and gate**", 1)[1]
    command = quick_start.split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert command.endswith("pipenv run test")
    ci_lines = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci_lines
