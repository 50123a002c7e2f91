"""The emulator patches change moto's own classes: only on the moto they were written for."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import metadata
from typing import ParamSpec, TypeVar

# The version the patches (and the gaps in docs/rehearsal.md) were written and checked
# against; the Pipfile pins the same.
MOTO_VERSION = "5.2.5"

P = ParamSpec("P")
R = TypeVar("R")


class EmulatorVersionError(Exception):
    """moto is not the version the emulator patches were written for; the message says which."""


def installed_moto() -> str:
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def require_moto(installed: str | None = None) -> None:
    """Raise EmulatorVersionError unless moto `installed` (default: the one installed) is
    MOTO_VERSION."""
    found = installed_moto() if installed is None else installed
    if found != MOTO_VERSION:
        raise EmulatorVersionError(
            f"moto {found} is installed, but the rehearsal's emulator patches were written for "
            f"moto {MOTO_VERSION}: run `pipenv sync --dev` (the Pipfile pins moto=={MOTO_VERSION})"
        )


def for_moto(patch: Callable[P, R]) -> Callable[P, R]:
    """Make an emulator patch refuse to run on another moto than MOTO_VERSION."""

    @functools.wraps(patch)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        require_moto()
        return patch(*args, **kwargs)

    return checked
