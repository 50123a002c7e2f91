"""Where the bootstrap stack's state is: in its bucket, in the local file, or in the old place."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epoch_app.phase import bootstrap_state_file, legacy_state_file
from epoch_settings import Settings


class StateCheckError(Exception):
    """The state backend is not as the command needs it; the message says what to do."""


@dataclass(frozen=True)
class BackendState:
    """What the account holds of the state backend."""

    bucket: str
    bucket_exists: bool
    # The bootstrap stack's own state object, once `pipenv run bootstrap` moved it there.
    bootstrapped: bool

    @property
    def bootstrap_url(self) -> str:
        return f"s3://{self.bucket}/"


def _status(error: Any) -> str:
    response = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", "")) or str(
        response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


def read_backend_state(settings: Settings, s3: Any = None) -> BackendState:
    """Ask S3 (the credentials and endpoint the environment gives) about the state bucket."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    names = settings.names
    if s3 is None:
        s3 = boto3.client("s3", region_name=settings.primary_region)
    try:
        try:
            s3.head_bucket(Bucket=names.state_bucket)
        except ClientError as error:
            if _status(error) in ("404", "NoSuchBucket", "NotFound"):
                return BackendState(names.state_bucket, bucket_exists=False, bootstrapped=False)
            if _status(error) in ("403", "AccessDenied", "Forbidden"):
                raise StateCheckError(
                    f"state bucket {names.state_bucket} exists but these credentials may not "
                    "use it: it may be another account's (bucket names are global; choose "
                    "another remote_state.bucket) or the credentials lack s3:ListBucket on it"
                ) from None
            raise
        try:
            s3.head_object(Bucket=names.state_bucket, Key=names.bootstrap_state_key)
            bootstrapped = True
        except ClientError as error:
            if _status(error) not in ("404", "NoSuchKey", "NotFound"):
                raise
            bootstrapped = False
    except (BotoCoreError, ClientError) as error:
        raise StateCheckError(f"cannot read state bucket {names.state_bucket}: {error}") from None
    return BackendState(names.state_bucket, bucket_exists=True, bootstrapped=bootstrapped)


def adopt_legacy_state(settings: Settings, outdir: Path) -> str | None:
    """Move a bootstrap state file out of the synth output, where earlier versions left it.

    Returns what was done (None: nothing to do). Never deletes a state file: with a
    file already in the new place too, StateCheckError says to choose.
    """
    legacy = legacy_state_file(outdir)
    if not legacy.is_file():
        return None
    target = bootstrap_state_file(settings.names.state_bucket)
    if target.exists():
        raise StateCheckError(
            f"two state files for the bootstrap stack: {legacy} (where earlier versions kept "
            f"it; the next synth deletes it) and {target}: keep the current one at {target}, "
            f"move the other out of {outdir}, then run the command again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((legacy, target), (_backup(legacy), _backup(target))):
        if source.is_file():
            shutil.move(source, dest)
    return (
        f"moved the bootstrap stack's state from {legacy} (the next synth would have deleted "
        f"it) to {target}"
    )


def _backup(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def local_state_has_resources(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("resources"))
    except (OSError, ValueError, AttributeError):
        return path.is_file() and path.stat().st_size > 0
