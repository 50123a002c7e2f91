"""Load only the AWS provider bindings the code uses, and end synthesis without teardown.

Why: `import cdktf_cdktf_provider_aws.<anything>` first runs the package's
`__init__`, which imports all 2,213 provider submodules (~6 s here) although
the stacks use a few dozen; and once the output is written, the interpreter
spends another ~4 s tearing those modules down. Neither is needed: the jsii
kernel (Node) loads the whole provider assembly either way, from the
package's `_jsii` module.

What it relies on (true of cdktf 0.21.0, cdktf-cdktf-provider-aws 21.22.1 and
jsii 1.142.0, the pinned versions; `install` checks them and otherwise falls
back to the normal import with a one-line warning):

- The package `__init__` does nothing a submodule needs besides
  `from ._jsii import *` (which each submodule does itself, loading the
  assembly into the kernel) and importing every submodule so that its classes,
  structs, enums and interfaces register with the jsii runtime (`JSIIMeta`,
  `jsii.data_type`, `jsii.enum`, `jsii.interface`). Registering the package
  without running it (`install`) leaves exactly the imported submodules
  registered.
- Every type the kernel can hand back for what the code builds lives in the
  submodule of the resource that returns it (`*OutputReference`, `*List`,
  structs, enums), so importing a resource's submodule registers them.
- jsii raises `ValueError: Unknown type: <fqn>` for any object whose type is
  not registered (after re-importing the package root, which here is this
  already-registered, empty package): a missing registration fails loudly,
  it cannot silently change the output. Tests compare the output of both
  paths byte for byte (tests/infra/test_fast_bindings.py).

`exit_now` runs the `atexit` handlers (jsii stops its Node process and removes
its temporary files there) and then ends the process without module teardown.

Set EPOCH_EAGER_BINDINGS=1 to use the normal import.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib.metadata
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn

PACKAGE = "cdktf_cdktf_provider_aws"
PINNED: Mapping[str, str] = {
    "cdktf": "0.21.0",
    "cdktf-cdktf-provider-aws": "21.22.1",
    "jsii": "1.142.0",
}
EAGER_ENV_VAR = "EPOCH_EAGER_BINDINGS"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_mismatches(
    pinned: Mapping[str, str] = PINNED, found: Mapping[str, str | None] | None = None
) -> list[str]:
    """`name X (expected Y)` for each installed version that is not the pinned one.

    `found`: the installed versions (None: not installed), if already looked up.
    """
    if found is None:
        found = {name: _version(name) for name in pinned}
    return [
        f"{name} {found[name] or 'missing'} (expected {want})"
        for name, want in pinned.items()
        if found[name] != want
    ]


def install() -> bool:
    """Register the provider package without running its `__init__`; True if done.

    Call before anything imports `cdktf_cdktf_provider_aws`. Cheap: nothing is
    imported and the jsii kernel does not start until the first submodule import.
    """
    if os.environ.get(EAGER_ENV_VAR) == "1":
        return False
    existing = sys.modules.get(PACKAGE)
    if existing is not None:
        return is_installed()
    found = {name: _version(name) for name in PINNED}
    if None in found.values():
        return False  # not installed: the entry point reports the missing package
    mismatches = version_mismatches(PINNED, found)
    if mismatches:
        print(
            f"warning: fast provider-binding load off ({', '.join(mismatches)}); "
            "importing all provider bindings (slower)",
            file=sys.stderr,
        )
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False  # not installed: the entry point reports the missing package
    package = importlib.util.module_from_spec(spec)
    package.__dict__["__epoch_fast_bindings__"] = True
    sys.modules[PACKAGE] = package
    return True


@contextlib.contextmanager
def loading_bindings() -> Iterator[None]:
    """Import the bindings (and whatever imports them) inside this block.

    The import creates objects that live until the process ends (classes,
    typing annotations: some 26,000 classes on the normal import), and the
    cyclic garbage collector's passes over them cost about a quarter of the
    normal import's CPU. Collection pauses during the block; its objects are
    then left out of later passes (`gc.freeze`). What is imported and run is
    unchanged; on the fast path the gain is within noise.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def is_installed() -> bool:
    """Whether the provider package in this process is the partially loaded one."""
    package = sys.modules.get(PACKAGE)
    return package is not None and bool(getattr(package, "__epoch_fast_bindings__", False))


def _flushed() -> bool:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # e.g. a closed pipe
        return False
    return True


def exit_now(code: int) -> NoReturn:
    """Flush the output, run the exit handlers, end the process without teardown.

    Output that cannot be flushed turns exit code 0 into 120, as at a normal exit.
    """
    flushed = _flushed()
    # CPython's own exit step: jsii stops its Node kernel and removes its temporary files.
    atexit._run_exitfuncs()
    flushed = _flushed() and flushed
    os._exit(code if flushed or code != 0 else 120)


def exit_by_sigint() -> NoReturn:
    """End as an uncaught Ctrl-C does (killed by SIGINT, so a calling shell stops too),
    after the exit handlers and without the interpreter's traceback."""
    _flushed()
    # jsii's Node kernel got the same Ctrl-C; stopping it reports the broken channel.
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stderr.fileno())
    atexit._run_exitfuncs()
    _flushed()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)  # not reached: SIGINT ends the process


def run_and_exit(main: Callable[[list[str]], int], argv: list[str]) -> NoReturn:
    """`sys.exit(main(argv))`, ending through `exit_now` with the same exit code."""
    try:
        code = main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        exit_by_sigint()
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException as error:  # noqa: BLE001 - reported as the interpreter would, exit 1
        sys.excepthook(type(error), error, error.__traceback__)
        code = 1
    exit_now(code)
