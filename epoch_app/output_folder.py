"""Where synthesis writes: checked before the provider bindings load (standard library only)."""

from __future__ import annotations

from pathlib import Path


class OutputFolderError(Exception):
    """The output folder cannot be written; the message says what to do."""


def checked_output_folder(outdir: Path) -> Path:
    """`outdir`, absolute; OutputFolderError if a file stands where it or a parent goes."""
    outdir = outdir.resolve()
    for path in (outdir, *outdir.parents):
        if path.exists() and not path.is_dir():
            raise OutputFolderError(
                f"{path} is a file, not a folder: move it away, "
                "or write elsewhere with CDKTF_OUTDIR=<folder>"
            )
    return outdir
