"""`python -m epoch_ops.preflight <cdktf args>`: what `pipenv run diff|deploy` check before cdktf.

One `error:` line and exit 1 when cdktf would fail or do harm: Terraform missing or
too old; no AWS credentials; settings still holding the examples; a state backend
that is not bootstrapped yet. A bootstrap state file where earlier versions left it
(inside cdktf.out, which cdktf's own synth replaces) is moved out first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from epoch_app.phase import PROJECT_ROOT, STATE_STACK, bootstrap_state_file
from epoch_ops.placeholders import placeholder_keys
from epoch_ops.state import StateCheckError, adopt_legacy_state, read_backend_state
from epoch_ops.steps import StepError
from epoch_ops.terraform_cli import TerraformError, aws_credentials_problem, find_terraform
from epoch_settings import Settings, SettingsError
from epoch_settings.loader import settings_from_environment

ROOT_STACK = "epoch-register"
BOOTSTRAP = "`pipenv run bootstrap`"


class PreflightError(Exception):
    """What stops the command and what to do: one line (settings errors: one per problem)."""

    def __init__(self, *lines: str) -> None:
        super().__init__(*lines)
        self.lines = lines


def named_stacks(args: Sequence[str]) -> set[str]:
    """The stacks a cdktf diff|deploy|destroy command line names ('*' is both)."""
    positional = [a for a in args[1:] if not a.startswith("-")]
    if "*" in positional:
        return {STATE_STACK, ROOT_STACK}
    return set(positional)


def output_folder() -> Path:
    return Path(os.environ.get("CDKTF_OUTDIR") or PROJECT_ROOT / "cdktf.out")


def load_deployable_settings(verb: str) -> Settings:
    """The settings cdktf will synthesize, refused while they hold example values."""
    try:
        settings = settings_from_environment([])
    except SettingsError as error:
        raise PreflightError(*error.lines) from None
    examples = placeholder_keys(settings)
    if examples:
        raise PreflightError(
            f"the settings still hold example values ({'; '.join(examples)}): set your own "
            f"in a copy of settings.toml and export EPOCH_SETTINGS=<file> before {verb} "
            "(docs/deploying.md, step 1); synth and local mode work on the examples"
        )
    return settings


def check_state_backend(settings: Settings, stacks: set[str]) -> list[str]:
    """Notes on what was done; PreflightError when the backend is not ready for `stacks`."""
    notes = []
    try:
        moved = adopt_legacy_state(settings, output_folder())
        if moved:
            notes.append(moved)
        backend = read_backend_state(settings)
    except StateCheckError as error:
        raise PreflightError(str(error)) from None
    names = settings.names
    if not backend.bucket_exists:
        raise PreflightError(
            f"state bucket {names.state_bucket} does not exist yet: run {BOOTSTRAP} once "
            "first; it creates the bucket and keeps the bootstrap stack's state in it "
            "(docs/deploying.md)"
        )
    if STATE_STACK in stacks and not backend.bootstrapped:
        local = bootstrap_state_file(names.state_bucket)
        where = f"s3://{names.state_bucket}/{names.bootstrap_state_key}"
        if local.is_file():
            raise PreflightError(
                f"the bootstrap stack's state is still in {local}, not yet in {where}: "
                f"run {BOOTSTRAP} to finish (it moves the state into the bucket)"
            )
        raise PreflightError(
            f"state bucket {names.state_bucket} exists but {where} holds no state and "
            f"{local} does not exist: a deploy would try to create it all again; see "
            "docs/teardown.md#if-the-bootstrap-state-is-lost"
        )
    return notes


def preflight(args: Sequence[str]) -> list[str]:
    """Every check `pipenv run diff|deploy <args>` makes; returns notes to print."""
    require_terraform()
    if {"-h", "--help"} & set(args):
        return []
    settings = require_credentials_and_settings(args[0] if args else "deploy")
    return check_state_backend(settings, named_stacks(args))


def require_terraform() -> None:
    try:
        find_terraform()
    except TerraformError as error:
        raise PreflightError(str(error)) from None


def require_credentials_and_settings(verb: str) -> Settings:
    problem = aws_credentials_problem()
    if problem is not None:
        raise PreflightError(problem)
    return load_deployable_settings(verb)


def deploy_checks(verb: str) -> Settings:
    """What every command that touches AWS checks first (`verb` names it in the message)."""
    require_terraform()
    return require_credentials_and_settings(verb)


def run_command(action: Callable[[], str], command: str) -> int:
    """Run a deploy command's `action`, print its closing line; one `error:` line per problem.

    Every step of bootstrap and teardown is safe to repeat, so a failure or Ctrl-C
    says to run the command again.
    """
    try:
        print(action(), flush=True)
    except PreflightError as error:
        for line in error.lines:
            print(f"error: {line}", file=sys.stderr)
        return 1
    except StepError as error:
        print(f"error: {error}; run `{command}` again to go on", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: run `{command}` again to go on", file=sys.stderr)
        return 130
    return 0


def extra_arguments(args: Sequence[str]) -> list[str]:
    """What cdktf needs besides the user's arguments.

    `cdktf deploy epoch-register` refuses to run without its dependency, the
    remote-state stack, unless told to; preflight has just checked that stack is
    bootstrapped, so the root stack may go alone.
    """
    flag = "--ignore-missing-stack-dependencies"
    stacks = named_stacks(args)
    if args and args[0] == "deploy" and stacks and STATE_STACK not in stacks and flag not in args:
        return [flag]
    return []


def main(argv: Sequence[str]) -> int:
    """Notes and errors on stderr; on stdout the arguments cdktf.sh adds to cdktf's."""
    try:
        notes = preflight(argv)
    except PreflightError as error:
        for line in error.lines:
            print(f"error: {line}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(" ".join(extra_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
