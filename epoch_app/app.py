"""Build the cdktf App with both stacks, and synthesize it without half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from cdktf import App

from epoch_app.output_folder import OutputFolderError, checked_output_folder
from epoch_app.phase import Phase, local_state_path
from epoch_constructs.stack import EpochRegisterStack
from epoch_settings import Settings
from remote_state import RemoteStateStack

DEPLOY = Phase()


def build_app(
    settings: Settings, outdir: Path, *, phase: Phase = DEPLOY, local_state: str | None = None
) -> App:
    """Both stacks; the root stack depends on the state backend (`cdktf deploy '*'`).

    `local_state` is the remote-state stack's local state path in the bootstrap and
    teardown phases; teardown also lifts the root stack's deletion protection.
    """
    app = App(outdir=str(outdir))
    if not phase.protected:
        table = settings.table.model_copy(update={"deletion_protection_enabled": False})
        settings = settings.model_copy(update={"table": table})
    state = RemoteStateStack(
        app,
        settings=settings,
        local_state=local_state if phase.local_bootstrap_state else None,
        protected=phase.protected,
    )
    root = EpochRegisterStack(app, settings=settings)
    root.add_dependency(state)
    return app


def synth_to(settings: Settings, outdir: Path, phase: Phase = DEPLOY) -> None:
    """Synthesize into a sibling temporary folder, then swap it into `outdir`.

    A failure part-way leaves the previous output untouched.
    """
    outdir = checked_output_folder(outdir)
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    except OSError as err:
        raise OutputFolderError(
            f"cannot write to {outdir.parent}: {err.strerror}; "
            "write elsewhere with CDKTF_OUTDIR=<folder>"
        ) from None
    try:
        # mkdtemp makes the folder private (0700); the output is an ordinary folder.
        umask = os.umask(0o022)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        local_state = local_state_path(settings.names.state_bucket, outdir)
        build_app(settings, staging, phase=phase, local_state=local_state).synth()
        old = outdir.with_name(f".{outdir.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if outdir.exists():
            outdir.rename(old)
        staging.rename(outdir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
