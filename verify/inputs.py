"""What to verify: the API URL and each region's own endpoint, from options or
from the root stack's Terraform outputs (`terraform output -json`, or a saved
copy of it, or the file `cdktf deploy --outputs-file` writes)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Output names of the root stack (epoch_constructs/stack.py).
API_URL_OUTPUT = "api_url"
ENDPOINT_SUFFIX = "_endpoint"
HEALTH_CHECK_SUFFIX = "_health_check_id"
STACK_NAME = "epoch-register"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


class InputError(Exception):
    """The inputs cannot be used; the message is the one line to show."""


@dataclass(frozen=True)
class Target:
    """A deployment to verify: regions in order, each with its own endpoint."""

    api_url: str | None
    endpoints: dict[str, str]  # region -> base URL (the stage's invoke URL)
    health_check_ids: dict[str, str] = field(default_factory=dict)


def check_url(url: str, what: str) -> str:
    """An http(s) URL with a host, without query or fragment; InputError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what} must be an http:// or https:// URL with a host, not {url!r}")
    if parts.query or parts.fragment:
        raise InputError(f"{what} must not carry a query or fragment: {url!r}")
    try:
        _ = parts.port
    except ValueError:
        raise InputError(f"{what} has an invalid port: {url!r}") from None
    return url.rstrip("/")


def parse_pair(raw: str, option: str) -> tuple[str, str]:
    """`us-east-1=https://...` -> (region, value)."""
    region, sep, value = raw.partition("=")
    region = region.strip()
    if not sep or not value.strip():
        raise InputError(f"{option} takes REGION=VALUE, not {raw!r}")
    if not _REGION.fullmatch(region):
        raise InputError(f"{option}: {region!r} is not a region name such as us-east-1")
    return region, value.strip()


def region_of_output(name: str, suffix: str) -> str:
    """`us_east_1_endpoint` -> `us-east-1` (epoch_constructs.providers.region_id reversed)."""
    return name[: -len(suffix)].replace("_", "-")


def outputs_from_terraform(directory: Path, timeout: float = 120.0) -> dict[str, Any]:
    """`terraform output -json` in a stack's working directory (after `cdktf deploy`)."""
    if not directory.is_dir():
        raise InputError(f"--terraform-dir {directory} is not a folder")
    terraform = shutil.which("terraform")
    if terraform is None:
        raise InputError("terraform is not on PATH (needed by --terraform-dir)")
    try:
        result = subprocess.run(
            [terraform, "output", "-json", "-no-color"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"terraform output in {directory} did not finish in {timeout:.0f} s"
        ) from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "Error" in line), lines[0] if lines else "")
        if "terraform init" in detail:
            detail += (
                " (deploy the stack first: pipenv run deploy epoch-register; see docs/deploying.md)"
            )
        raise InputError(f"terraform output failed in {directory}: {detail}")
    outputs = json_after_warnings(result.stdout)
    if outputs is None:
        raise InputError(f"terraform output in {directory} did not print JSON")
    return _flatten(outputs, str(directory))


def json_after_warnings(text: str) -> dict[str, Any] | None:
    """The JSON object `terraform output -json` prints, after any lines printed before it.

    Newer Terraform versions print warnings (e.g. a backend deprecation) on stdout
    ahead of the JSON; the object starts at the first line that starts with `{`.
    """
    if not text.strip():
        return {}
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            try:
                found, _ = json.JSONDecoder().raw_decode(text, offset)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
        offset += len(line)
    return None


def outputs_from_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read outputs file {path}: {exc.strerror}") from None
    except ValueError:
        raise InputError(f"outputs file {path} is not JSON") from None
    return _flatten(document, str(path))


def _flatten(document: Any, source: str) -> dict[str, Any]:
    """Output name -> value, from `terraform output -json` ({name: {value, ...}}) or
    `cdktf deploy --outputs-file` ({stack: {name: value}})."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: outputs must be a JSON object")
    if isinstance(document.get(STACK_NAME), dict):
        document = document[STACK_NAME]
    flat: dict[str, Any] = {}
    for name, entry in document.items():
        if isinstance(entry, dict) and "value" in entry:
            flat[name] = entry["value"]
        else:
            flat[name] = entry
    return flat


def target_from_outputs(outputs: dict[str, Any], source: str) -> Target:
    endpoints = {
        region_of_output(name, ENDPOINT_SUFFIX): value
        for name, value in sorted(outputs.items())
        if name.endswith(ENDPOINT_SUFFIX) and isinstance(value, str)
    }
    if not endpoints:
        raise InputError(
            f"{source} has no *{ENDPOINT_SUFFIX} outputs: is the {STACK_NAME} stack deployed?"
        )
    checks = {
        region_of_output(name, HEALTH_CHECK_SUFFIX): value
        for name, value in outputs.items()
        if name.endswith(HEALTH_CHECK_SUFFIX) and isinstance(value, str)
    }
    api_url = outputs.get(API_URL_OUTPUT)
    return Target(
        api_url=check_url(api_url, f"output {API_URL_OUTPUT}")
        if isinstance(api_url, str)
        else None,
        endpoints={
            region: check_url(url, f"output {region} endpoint") for region, url in endpoints.items()
        },
        health_check_ids=checks,
    )


def build_target(
    *,
    api_url: str | None,
    region_endpoints: list[str],
    health_checks: list[str],
    terraform_dir: Path | None,
    outputs_file: Path | None,
) -> Target:
    """Options win over outputs; at least one region endpoint is needed."""
    base = Target(api_url=None, endpoints={})
    if terraform_dir is not None and outputs_file is not None:
        raise InputError("give --terraform-dir or --outputs-file, not both")
    if terraform_dir is not None:
        base = target_from_outputs(outputs_from_terraform(terraform_dir), str(terraform_dir))
    elif outputs_file is not None:
        base = target_from_outputs(outputs_from_file(outputs_file), str(outputs_file))
    endpoints = dict(base.endpoints)
    given: dict[str, str] = {}
    for raw in region_endpoints:
        region, url = parse_pair(raw, "--region-endpoint")
        if region in given:
            raise InputError(f"--region-endpoint: {region} is given twice")
        given[region] = check_url(url, f"--region-endpoint {region}")
    if given:
        endpoints.update(given)
    checks = dict(base.health_check_ids)
    for raw in health_checks:
        region, check_id = parse_pair(raw, "--health-check")
        checks[region] = check_id
    public = check_url(api_url, "--api-url") if api_url is not None else base.api_url
    if not endpoints:
        raise InputError(
            "nothing to verify: give --region-endpoint REGION=URL (one per region), "
            "--terraform-dir DIR or --outputs-file FILE"
        )
    unknown = sorted(set(checks) - set(endpoints))
    if unknown:
        raise InputError(f"--health-check for {', '.join(unknown)}, which has no endpoint")
    return Target(api_url=public, endpoints=endpoints, health_check_ids=checks)


def add_outputs_options(group: argparse._ActionsContainer) -> None:
    """--terraform-dir / --outputs-file: where a deployment's outputs are read from."""
    group.add_argument(
        "--terraform-dir",
        type=Path,
        help="run `terraform output -json` here (cdktf.out/stacks/epoch-register after deploy)",
    )
    group.add_argument(
        "--outputs-file",
        type=Path,
        help="saved `terraform output -json`, or `cdktf deploy --outputs-file` JSON",
    )
