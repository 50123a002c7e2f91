"""EpochRegisterStack: the root stack, wiring every regional and global part."""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack
from constructs import Construct

from epoch_constructs.providers import regional_providers
from epoch_settings import Settings

STACK_NAME = "epoch-register"


class EpochRegisterStack(TerraformStack):
    """Owns the providers, the global table, IAM, routing and one RegionFrontend per region."""

    def __init__(self, scope: Construct, *, settings: Settings) -> None:
        super().__init__(scope, STACK_NAME)
        names = settings.names
        backend = S3Backend(
            self,
            bucket=names.state_bucket,
            key=names.state_key,
            region=settings.primary_region,
            dynamodb_table=names.lock_table,
            encrypt=True,
        )
        # S3-native locking; cdktf 0.21's S3Backend has no `use_lockfile` field.
        backend.add_override("use_lockfile", True)
        self.providers = regional_providers(self, settings)
