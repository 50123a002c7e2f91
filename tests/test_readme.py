"""The README's layout tree, and the links of the README and docs/, stay true to the repository.

Only files git tracks count: what a test run or an installed tool leaves in the
folder (`.pytest_cache/README.md`, a `.venv` inside the project) is not the
repository, and must neither add a page nor make a documented variable look used.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import contract
from rehearsal.terraform import terraform_env
from tests.conftest import PROJECT_ROOT


def tracked_files() -> list[Path]:
    """Every file git tracks in the project (and that exists in the work tree)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = (PROJECT_ROOT / name for name in listed.split("\0") if name)
    return sorted(path for path in paths if path.is_file())


TRACKED = tracked_files()
README = (PROJECT_ROOT / "README.md").read_text()
LAYOUT = README.split("## Layout", 1)[1].split("```\n", 2)[1]
# Made by tools, not part of the source (.gitignore).
GENERATED = {"node_modules", "cdktf.out", "imports", "__pycache__", "__snapshots__"}


def tracked(folder: str, suffix: str) -> list[Path]:
    """Tracked files ending in `suffix` anywhere below `folder` (project-relative)."""
    return [
        path
        for path in TRACKED
        if path.is_relative_to(PROJECT_ROOT / folder) and path.name.endswith(suffix)
    ]


def test_the_layout_names_every_top_level_folder() -> None:
    folders = {
        path.relative_to(PROJECT_ROOT).parts[0]
        for path in TRACKED
        if len(path.relative_to(PROJECT_ROOT).parts) > 1
    }
    folders = {name for name in folders if not name.startswith(".") and name not in GENERATED}
    missing = {name for name in folders if f"{name}/" not in LAYOUT}
    assert missing == set()


def test_the_layout_names_every_infrastructure_module() -> None:
    modules = {
        path.name
        for package in ("epoch_blocks", "epoch_constructs", "epoch_app", "remote_state")
        for path in TRACKED
        if path.is_relative_to(PROJECT_ROOT / package)
        and path.suffix == ".py"
        and path.name != "__init__.py"
    }
    # remote_state/stack.py is the package's stack, which the layout line describes.
    missing = {name for name in modules - {"stack.py"} if name not in LAYOUT}
    assert missing == set()


def test_the_readme_links_every_docs_page() -> None:
    links = set(re.findall(r"\]\((docs/[^)#]+)", README))
    pages = {f"docs/{path.name}" for path in tracked("docs", ".md")}
    assert pages <= links


def test_ci_runs_exactly_the_readme_test_command() -> None:
    quick_start = README.split("**Set up and run every test and gate**", 1)[1]
    command = quick_start.split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert command.endswith("pipenv run test")
    ci_lines = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci_lines


def layout_entries() -> list[str]:
    """Every path the layout tree names in its first column, relative to the project root."""
    entries: list[str] = []
    folders: dict[int, str] = {}
    for line in LAYOUT.splitlines():
        match = re.match(r"( *)([\w.-]+/?(?:, [\w.-]+/?)*)", line)
        # Wrapped descriptions are indented past every tree level.
        if match is None or len(match.group(1)) > 8:
            continue
        indent = len(match.group(1))
        parent = folders.get(indent - 2, "") if indent else ""
        for name in match.group(2).split(", "):
            entries.append(parent + name)
            if name.endswith("/"):
                folders[indent] = parent + name
    return entries


def test_every_path_in_the_layout_exists() -> None:
    entries = layout_entries()
    # A guard on the parser: nested entries resolve below their folder.
    assert {"main.py", "handlers/contract.py", "epoch_constructs/region_frontend/waf.py"} <= set(
        entries
    )
    missing = [entry for entry in entries if not (PROJECT_ROOT / entry).exists()]
    assert missing == []


# Every page whose links and anchors are checked.
PAGES = sorted(
    path
    for path in TRACKED
    if path.relative_to(PROJECT_ROOT).as_posix() == "README.md"
    or (path.parent == PROJECT_ROOT / "docs" and path.suffix == ".md")
    or (path.name == "README.md" and path.parent.parent == PROJECT_ROOT)
)


def without_code(text: str) -> str:
    """The text without fenced code blocks (their `#` lines are no headings, nor links)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens;
    a repeated heading gets -1, -2, ..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", without_code(page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def local_links(page: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", without_code(page.read_text()))
    return [
        target
        for target in re.findall(r"\]\(([^)\s]+)\)", text)
        if not re.match(r"[a-z]+:", target)
    ]


def test_the_anchor_rule_matches_github() -> None:
    page = PROJECT_ROOT / "docs" / "data-model.md"
    assert "write-limit-and-tablelist_shards" in anchors(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(PROJECT_ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == []


# Environment variables as the docs write them: the project's own (EPOCH_), the
# emulator's, Terraform's and AWS's by prefix, and any other `NAME=` or `$NAME`.
_VARIABLE = re.compile(
    r"\b(?:EPOCH|MOTO|TF|AWS)_[A-Z0-9_]*[A-Z0-9]\b"
    r"|(?<=\$)[A-Z][A-Z0-9_]+\b"
    r"|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?==)"
)
# Where the code sets, reads or passes on variables (tests/ holds the test harness's).
CODE_FILES = [
    path
    for path in TRACKED
    if path.suffix in (".py", ".sh", ".js", ".yml")
    and "docs" not in path.relative_to(PROJECT_ROOT).parts
] + [PROJECT_ROOT / ".ci" / "run"]


def documented_variables() -> dict[str, str]:
    """Variable name -> a page that names it."""
    found: dict[str, str] = {}
    for page in PAGES:
        for name in _VARIABLE.findall(page.read_text()):
            found.setdefault(name, page.name)
    return found


def test_every_environment_variable_the_docs_name_is_used_by_the_code() -> None:
    code = "\n".join(path.read_text(encoding="utf-8") for path in CODE_FILES)
    documented = documented_variables()
    # A guard on the pattern: variables written each way are found.
    assert {"EPOCH_SETTINGS", "EPOCH_SKIP_TERRAFORM_GATE", "FORCE_UNHEALTHY"} <= set(documented)
    unused = [
        f"{name} ({page})"
        for name, page in sorted(documented.items())
        if name not in code
        # Named by a pattern, not literally: what the Terraform subprocesses do not inherit.
        and not (name.startswith("TF_") and name not in terraform_env(None, base={name: "1"}))
    ]
    assert unused == []


def test_every_epoch_variable_the_code_reads_is_documented() -> None:
    product = [path for path in CODE_FILES if "tests" not in path.relative_to(PROJECT_ROOT).parts]
    read = {
        name
        for path in product
        for name in re.findall(r"\bEPOCH_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    assert "EPOCH_SETTINGS" in read
    assert read - set(documented_variables()) == set()


def test_the_pipeline_page_names_every_workflow_and_pinned_action_version() -> None:
    page = (PROJECT_ROOT / "docs" / "pipeline.md").read_text()
    workflows = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    listed = set(re.findall(r"^\| `([\w.-]+\.yml)` \|", page, re.MULTILINE))
    assert listed == {path.name for path in workflows}
    pins = {
        (action, version)
        for path in workflows
        for action, version in re.findall(
            r"uses: ([\w.-]+/[\w.-]+)@[0-9a-f]{40} # (v[\d.]+)", path.read_text()
        )
    }
    assert ("actions/checkout", "v5.0.0") in pins
    stale = sorted(f"{a} {v}" for a, v in pins if not re.search(rf"`{a}`\s+{re.escape(v)}\b", page))
    assert stale == []


def test_every_test_and_project_path_the_docs_name_exists() -> None:
    top_level = {path.relative_to(PROJECT_ROOT).parts[0] for path in TRACKED}
    sources = "\n".join(path.read_text() for path in tracked("tests", ".py"))
    checked, missing = set(), []
    for page in PAGES:
        text = page.read_text()
        for name in re.findall(r"`(test_\w+)`", text):
            checked.add(name)
            if f"def {name}(" not in sources:
                missing.append(f"{page.name}: {name}")
        # Paths inside the project: their first part is a top-level file or folder.
        for path in re.findall(r"`((?:\.?[\w-]+)(?:/[\w.-]+)+/?)`", text):
            if path.split("/", 1)[0] in top_level:
                checked.add(path)
                if not (PROJECT_ROOT / path).exists():
                    missing.append(f"{page.name}: {path}")
    assert {
        "rehearsal/plan_gate.py",
        "test_gate_catches_provider_errors_the_earlier_gates_let_through",
    } <= checked
    assert missing == []


def test_every_pipenv_script_and_module_the_docs_run_exists() -> None:
    scripts = set(
        re.findall(r"^(\w+) = ", (PROJECT_ROOT / "Pipfile").read_text().split("[scripts]")[1], re.M)
    )
    # Tools of the dev packages, run through pipenv rather than as scripts.
    tools = {"python", "schemathesis"}
    run = {name for page in PAGES for name in re.findall(r"pipenv run ([\w-]+)", page.read_text())}
    assert {"synth", "test", "verify"} <= run
    assert run - scripts - tools == set()
    modules = {m for page in PAGES for m in re.findall(r"python -m ([\w.]+)", page.read_text())}
    assert "local_api" in modules
    assert [m for m in sorted(modules) if importlib.util.find_spec(m) is None] == []


# Our command-line tools, as `python -m`; main.py (synth) takes only --settings.
CLIS = (
    "verify",
    "local_api",
    "rehearsal",
    "rollout",
    "epoch_ops.bootstrap",
    "epoch_ops.teardown",
)
# Pages about one of those tools: every --option they write must be one of its options.
CLI_PAGES = (
    "local-mode.md",
    "after-deploying.md",
    "rehearsal.md",
    "teardown.md",
)


def test_every_option_the_docs_give_our_commands_exists() -> None:
    options = {"--settings"}
    for module in CLIS:
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        options |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", result.stdout))
    written: set[str] = set()
    for page in PAGES:
        text = page.read_text()
        if page.name in CLI_PAGES:
            written |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
        ours = r"pipenv run (?:verify|local|rehearse|synth|rollout|bootstrap|teardown)\b[^`|\n]*"
        for line in re.findall(ours, text):
            written |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    assert {"--force-unhealthy", "--replication-timeout", "--keep"} <= written
    assert written - options == set()


def test_the_api_page_names_every_error_code() -> None:
    page = (PROJECT_ROOT / "docs" / "api.md").read_text()
    assert [code for code in contract.ERROR_CODES if f"`{code}`" not in page] == []


def test_the_leaving_cdktf_claim_names_the_tests_that_prove_it() -> None:
    # The README's claim, and the page that says which tests hold it up.
    assert "[leaving cdktf](docs/leaving-cdktf.md)" in README
    assert "plans it exactly like the JSON" in README
    page = (PROJECT_ROOT / "docs" / "leaving-cdktf.md").read_text()
    gate = (PROJECT_ROOT / "tests" / "infra" / "test_terraform_plan.py").read_text()
    documents = (PROJECT_ROOT / "tests" / "infra" / "test_tf_json.py").read_text()
    named = set(re.findall(r"`(test_\w+)`", page))
    proofs = {
        "test_the_hcl_output_validates_and_plans_exactly_like_the_json": gate,
        "test_every_variants_hcl_loads_in_terraform_core_with_only_named_warnings": gate,
        "test_the_synthesized_documents_are_the_json_text_terraform_computes": documents,
    }
    assert set(proofs) <= named
    for name, source in proofs.items():
        assert f"def {name}(" in source, name


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
# "3 functions", "the three functions", "2 x 3 functions": a count of the API's functions.
COUNTED_FUNCTIONS = re.compile(r"\b(\d+|" + "|".join(NUMBERS) + r")\s+functions\b", re.IGNORECASE)
# "the register, read and health functions": the functions by name.
LISTED_FUNCTIONS = re.compile(r"\bthe\s+((?:\w+,\s+)+\w+,?\s+and\s+\w+)\s+functions\b")


def function_prose(text: str) -> tuple[set[int], list[set[str]]]:
    """The function counts and the lists of function names a text writes out."""
    counts = {int(NUMBERS.get(word.lower(), word)) for word in COUNTED_FUNCTIONS.findall(text)}
    lists = [set(re.findall(r"\w+", listed)) - {"and"} for listed in LISTED_FUNCTIONS.findall(text)]
    return counts, lists


def test_the_docs_count_and_name_the_functions_the_contract_has() -> None:
    # Prose that counts or lists the functions goes stale when one is added: each
    # count must be len(contract.FUNCTION_HANDLERS), each list name them all.
    pages = [PROJECT_ROOT / "README.md", *tracked("docs", ".md")]
    found = {
        page.relative_to(PROJECT_ROOT).as_posix(): function_prose(page.read_text())
        for page in pages
    }
    expected = len(contract.FUNCTION_HANDLERS), set(contract.FUNCTION_HANDLERS)
    stale = {
        page: (counts, lists)
        for page, (counts, lists) in found.items()
        if counts - {expected[0]} or [names for names in lists if names != expected[1]]
    }
    assert stale == {}
    # The layout's line of entry points names each function's module.
    (line,) = [line for line in LAYOUT.splitlines() if line.endswith("the Lambda entry points")]
    modules = {path.split(".")[1] + ".py" for path in contract.FUNCTION_HANDLERS.values()}
    assert set(re.findall(r"\w+\.py", line)) == modules
    # It reads what it should: the settings and cost pages count them, rollout lists them.
    assert all(found[page][0] for page in ("docs/settings.md", "docs/costs.md"))
    assert found["docs/rollout.md"][1]


def test_the_function_prose_check_reads_counts_and_lists() -> None:
    text = "Three\nfunctions; the register, read\n  and health functions; 4 functions; 2 keys."
    assert function_prose(text) == ({3, 4}, [{"register", "read", "health"}])
