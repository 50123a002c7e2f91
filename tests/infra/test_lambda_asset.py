"""The synthesized Lambda zip: every handler path imports, and the zip is reproducible."""

from __future__ import annotations

import base64
import hashlib
import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction

from epoch_constructs.lambda_asset import build_handlers_zip
from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, resources


def test_every_function_handler_imports_from_the_zip(
    default_app: Synthesized, tmp_path: Path
) -> None:
    functions = resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values()
    (filename,) = {f["filename"] for f in functions}
    archive = default_app.stack_dir(ROOT) / filename
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path)
    handlers = sorted({f["handler"] for f in functions})
    assert len(handlers) == 3
    # A fresh interpreter whose only code is the unzipped asset, as in Lambda.
    checks = []
    for handler in handlers:
        module, function = handler.rsplit(".", 1)
        checks.append(
            f"assert callable(getattr(importlib.import_module({module!r}), {function!r}))"
        )
    script = "import importlib; " + "; ".join(checks)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {script}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"AWS_REGION": "us-east-1", "TABLE_NAME": "t", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert importlib.util.find_spec("handlers") is not None


def test_zip_has_no_tests_or_caches_and_is_reproducible(default_app: Synthesized) -> None:
    data = build_handlers_zip()
    assert data == build_handlers_zip()
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zipped:
        names = zipped.namelist()
    assert all(n.startswith("handlers/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    for function in resources(default_app, LambdaFunction.TF_RESOURCE_TYPE).values():
        assert function["source_code_hash"] == expected
