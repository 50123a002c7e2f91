"""The one line a command prints when run outside the project's environment (a Python
package missing). Standard library only: it runs before anything else is imported."""

from __future__ import annotations

import sys
from pathlib import Path


def not_installed_line(error: ModuleNotFoundError, *, sync: str, then: str) -> str:
    """`error: the Python package 'x' is not installed for <python>: run `<sync>` ...`.

    A missing module of one of this project's own packages (a folder beside epoch_app/
    with an __init__.py) is a bug, not a set-up step: `error` is raised again.
    """
    root = (error.name or "").partition(".")[0]
    if (Path(__file__).resolve().parent.parent / root / "__init__.py").is_file():
        raise error
    return (
        f"error: the Python package {error.name!r} is not installed for {sys.executable}: "
        f"run `{sync}` in the project folder, then {then}"
    )
