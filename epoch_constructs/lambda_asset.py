"""LambdaAsset: the handlers/ package as one reproducible zip shared by every function."""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from constructs import Construct

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
# Fixed timestamp: the same sources always give the same bytes (and no redeploy).
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_INCLUDE = ("*.py", "*.json")


def build_handlers_zip(source: Path = HANDLERS_DIR) -> bytes:
    """Zip `source` as the `handlers/` package at the archive root, byte-for-byte reproducible."""
    files = sorted(
        path
        for pattern in _INCLUDE
        for path in source.rglob(pattern)
        if "__pycache__" not in path.parts
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"handlers/{path.relative_to(source).as_posix()}", _ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


class LambdaAsset(Construct):
    """Owns the zip asset; `path` and `source_code_hash` go on every aws_lambda_function."""

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        data = build_handlers_zip()
        digest = hashlib.sha256(data)
        # Lives until the interpreter exits; TerraformAsset copies it into cdktf.out at synth.
        self._staging = tempfile.TemporaryDirectory(prefix="epoch-lambda-")
        zip_path = Path(self._staging.name) / "handlers.zip"
        zip_path.write_bytes(data)
        asset = TerraformAsset(
            self,
            "zip",
            path=str(zip_path),
            type=AssetType.FILE,
            asset_hash=digest.hexdigest(),
        )
        self.path = asset.path
        # What Terraform's filebase64sha256() would compute, known at synth time.
        self.source_code_hash = base64.b64encode(digest.digest()).decode()
