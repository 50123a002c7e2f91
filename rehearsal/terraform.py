"""The Terraform CLI, the local AWS provider mirror, and scratch copies of synthesized stacks.

Nothing here edits `cdktf.out`: a stack is copied into a scratch folder and
changed there only through Terraform's own override files (`*_override.tf.json`),
which Terraform merges into the stack's JSON when it loads the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from epoch_ops.terraform_cli import (
    MIN_TERRAFORM,
    TerraformCli,
    TerraformError,
    find_terraform,
    parse_version,
)

__all__ = ["MIN_TERRAFORM", "TerraformCli", "TerraformError", "find_terraform", "parse_version"]

PROVIDER = "registry.terraform.io/hashicorp/aws"
# A folder holding `registry.terraform.io/hashicorp/aws/<version>/<platform>/`.
MIRROR_ENV = "EPOCH_TF_PLUGIN_MIRROR"
# MIRROR_ENV=none: use no mirror, download the pinned provider from the registry.
NO_MIRROR = "none"
# Searched after Terraform's own implied local mirror folders.
EXTRA_MIRROR_DIRS = (Path("/opt/tf-plugins"),)
CLI_CONFIG_NAME = "terraform.rc"
STACK_FILE = "cdk.tf.json"

# Provider arguments that let the AWS provider configure itself and plan with
# fake credentials and no AWS endpoint: no STS call, no EC2 metadata lookup.
OFFLINE_PROVIDER_SETTINGS: Mapping[str, Any] = {
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_metadata_api_check": True,
}
# Provider settings only the emulator needs (the rehearsal's scratch copies and its
# user-path wrapper): path-style S3 URLs on 127.0.0.1 and no EC2 instance metadata
# lookup. Endpoints come from AWS_ENDPOINT_URL.
EMULATOR_PROVIDER_SETTINGS: Mapping[str, Any] = {
    "s3_use_path_style": True,
    "skip_metadata_api_check": True,
}
FAKE_CREDENTIALS: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}

# What each override file in a scratch copy changes (they load in name order).
PIN_OVERRIDE = "epoch_provider_pin_override.tf.json"
BACKEND_OVERRIDE = "epoch_backend_override.tf.json"
PROVIDER_OVERRIDE = "epoch_provider_override.tf.json"
NEWER_ONLY_OVERRIDE = "epoch_6x_only_override.tf.json"


@dataclass(frozen=True)
class NewerOnlyArgument:
    """An argument of a nested block that the bindings' provider has and an older one lacks."""

    resource_type: str
    block: str
    argument: str
    # The first provider version that knows it, and why the stack sets it.
    since: tuple[int, int, int]
    reason: str

    def strip(self, stack: Mapping[str, Any], judged: tuple[int, int, int]) -> dict[str, Any]:
        """Override entries replacing each `block` that sets the argument by one without it.

        Terraform's override files replace a resource's nested blocks of a type
        wholesale, which is the only way an override can take an argument away.
        """
        if judged >= self.since:
            return {}
        found = {}
        for name, body in stack.get("resource", {}).get(self.resource_type, {}).items():
            blocks = body.get(self.block)
            if isinstance(blocks, list) and any(self.argument in b for b in blocks):
                found[name] = {
                    self.block: [{k: v for k, v in b.items() if k != self.argument} for b in blocks]
                }
        return found


# Every argument the stacks set that the machine's provider mirror (5.100.0) does not
# know: the gates and the rehearsal take each out of their scratch copies and say so.
NEWER_ONLY_ARGUMENTS: tuple[NewerOnlyArgument, ...] = (
    NewerOnlyArgument(
        resource_type="aws_s3_bucket_server_side_encryption_configuration",
        block="rule",
        argument="blocked_encryption_types",
        since=(6, 22, 0),
        reason="6.22-6.39 diff on every plan without it (terraform-provider-aws #47320)",
    ),
)


@dataclass(frozen=True)
class ProviderMirror:
    """A local filesystem mirror holding the AWS provider for this platform."""

    root: Path
    versions: tuple[str, ...]

    def version_for(self, pinned: str) -> str:
        """The pinned version when mirrored, else the newest mirrored version."""
        if pinned in self.versions:
            return pinned
        return max(self.versions, key=lambda v: parse_version(v) or (0, 0, 0))


def standard_plugin_dirs(env: Mapping[str, str]) -> list[Path]:
    """Terraform's implied local mirror folders (Linux/macOS), then EXTRA_MIRROR_DIRS."""
    home = Path(env.get("HOME", str(Path.home())))
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    dirs = [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        *(Path(d) / "terraform" / "plugins" for d in data_dirs if d),
        home / "Library" / "Application Support" / "io.terraform" / "plugins",
        Path("/Library/Application Support/io.terraform/plugins"),
    ]
    return [*dirs, *EXTRA_MIRROR_DIRS]


def mirrored_versions(root: Path, platform: str) -> tuple[str, ...]:
    """AWS provider versions under `root` for `platform`, unpacked or packed layout."""
    folder = root / PROVIDER
    if not folder.is_dir():
        return ()
    versions = {
        entry.name
        for entry in folder.iterdir()
        if parse_version(entry.name) is not None and (entry / platform).is_dir()
    }
    packed = re.compile(rf"terraform-provider-aws_(.+)_{re.escape(platform)}\.zip")
    for entry in folder.iterdir():
        match = packed.fullmatch(entry.name)
        if match is not None:
            versions.add(match.group(1))
    return tuple(sorted(versions, key=lambda v: parse_version(v) or (0, 0, 0)))


def find_provider_mirror(
    platform: str, env: Mapping[str, str] | None = None
) -> ProviderMirror | None:
    """The mirror named by MIRROR_ENV, else the first standard folder holding the provider.

    None means no mirror (or MIRROR_ENV=none): Terraform downloads the pinned
    provider from the registry.
    """
    env = os.environ if env is None else env
    named = env.get(MIRROR_ENV, "").strip()
    if named == NO_MIRROR:
        return None
    if named:
        root = Path(named).expanduser()
        versions = mirrored_versions(root, platform)
        if not versions:
            raise TerraformError(
                f"{MIRROR_ENV}={named} holds no {PROVIDER}/<version>/{platform}: "
                f"point it at a folder with that layout, or unset it to use the registry"
            )
        return ProviderMirror(root=root, versions=versions)
    for root in standard_plugin_dirs(env):
        versions = mirrored_versions(root, platform)
        if versions:
            return ProviderMirror(root=root, versions=versions)
    return None


def write_cli_config(mirror: ProviderMirror, folder: Path) -> Path:
    """A CLI config installing the AWS provider from `mirror` only (other providers direct)."""
    path = folder / CLI_CONFIG_NAME
    root = json.dumps(str(mirror.root))
    provider = json.dumps(PROVIDER)
    path.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {root}\n"
        f"    include = [{provider}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{provider}]\n"
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    return path


# Inherited variables that would change what Terraform reads or where it keeps state.
_DROPPED_TF_VARIABLES = re.compile(r"TF_(VAR_.*|CLI_ARGS.*|WORKSPACE|DATA_DIR)")


def terraform_env(
    cli_config: Path | None,
    *,
    base: Mapping[str, str] | None = None,
    plugin_cache: Path | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a Terraform subprocess: fake AWS credentials and no prompts.

    Every inherited AWS_* variable is dropped (a profile, real keys, an endpoint),
    so nothing reaches a real account. `cli_config` None keeps the caller's own CLI
    configuration (e.g. a network mirror on a user's laptop).
    """
    base = os.environ if base is None else base
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith("AWS_") and not _DROPPED_TF_VARIABLES.fullmatch(key)
    }
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }
    )
    if cli_config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    if plugin_cache is not None:
        env["TF_PLUGIN_CACHE_DIR"] = str(plugin_cache)
        env["TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE"] = "true"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Workspace:
    """A scratch copy of one synthesized stack, ready for `terraform init`."""

    stack: str
    path: Path
    # The provider version the bindings were generated for (the stack's own pin).
    bindings_version: str
    # The provider version that judges the stack: the mirrored one, or the pin itself.
    provider_version: str
    override_files: tuple[str, ...] = field(default=())
    # "<address>: <block>.<argument> (<reason>)" for each argument taken out for an
    # older provider (NEWER_ONLY_ARGUMENTS).
    stripped: tuple[str, ...] = field(default=())

    @property
    def judged_by(self) -> str:
        text = f"bindings {self.bindings_version} judged by provider {self.provider_version}"
        if self.stripped:
            text += f"; {len(self.stripped)} 6.x-only argument(s) taken out: " + "; ".join(
                self.stripped
            )
        return text


Backend = Literal["local", "keep"]


def provider_override(stack: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """An override adding `settings` to every AWS provider block of `stack`.

    Terraform merges a provider override into the block with the same name and
    alias, and rejects one with no such block, so one entry per alias is written.
    """
    blocks = stack.get("provider", {}).get("aws", [])
    if isinstance(blocks, Mapping):
        blocks = [blocks]
    entries = []
    for block in blocks:
        entry = dict(settings)
        if "alias" in block:
            entry["alias"] = block["alias"]
        entries.append(entry)
    return {"provider": {"aws": entries}}


def prepare_workspace(
    stack_dir: Path,
    dest: Path,
    *,
    mirror: ProviderMirror | None,
    backend: Backend,
    provider_settings: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Workspace:
    """Copy `stack_dir` to `dest` (which must not exist) and write the override files.

    - with a mirror, the AWS provider pin becomes the mirrored version;
    - backend "local" replaces the stack's backend with a local state file in
      `dest`; "keep" leaves it (the S3 backend for a rehearsal);
    - `provider_settings` are merged into every AWS provider block;
    - `overrides` are further files by name (each must end in `_override.tf.json`).

    State files, `.terraform` and the lock file are not copied: a scratch copy
    never sees a user's state, and the lock file would pin the bindings' version.
    """
    shutil.copytree(
        stack_dir,
        dest,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
    )
    return write_overrides(
        dest,
        stack=stack_dir.name,
        mirror=mirror,
        backend=backend,
        provider_settings=provider_settings,
        overrides=overrides,
    )


def write_overrides(
    folder: Path,
    *,
    stack: str,
    mirror: ProviderMirror | None,
    backend: Backend,
    provider_settings: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Workspace:
    """Write the override files of `prepare_workspace` into a stack folder as it is."""
    document = json.loads((folder / STACK_FILE).read_text(encoding="utf-8"))
    required = document.get("terraform", {}).get("required_providers", {}).get("aws")
    if not isinstance(required, Mapping) or "version" not in required:
        raise TerraformError(f"{folder / STACK_FILE} pins no AWS provider version")
    pinned = str(required["version"])
    files: dict[str, Mapping[str, Any]] = {}
    judged = pinned
    if mirror is not None:
        judged = mirror.version_for(pinned)
        if judged != pinned:
            pin = {**required, "version": judged}
            files[PIN_OVERRIDE] = {"terraform": {"required_providers": {"aws": pin}}}
    stripped, newer_only = newer_only_override(document, judged)
    if newer_only:
        files[NEWER_ONLY_OVERRIDE] = newer_only
    if backend == "local":
        local = {"local": {"path": "terraform.tfstate"}}
        files[BACKEND_OVERRIDE] = {"terraform": {"backend": local}}
    if provider_settings:
        files[PROVIDER_OVERRIDE] = provider_override(document, provider_settings)
    for name, override in (overrides or {}).items():
        if not name.endswith("_override.tf.json") or "/" in name:
            raise TerraformError(f"override file name {name!r} must end in _override.tf.json")
        files[name] = override
    for name, override in files.items():
        (folder / name).write_text(json.dumps(override, indent=2) + "\n", encoding="utf-8")
    return Workspace(
        stack=stack,
        path=folder,
        bindings_version=pinned,
        provider_version=judged,
        override_files=tuple(sorted(files)),
        stripped=tuple(stripped),
    )


def newer_only_override(stack: Mapping[str, Any], judged: str) -> tuple[list[str], dict[str, Any]]:
    """What NEWER_ONLY_ARGUMENTS takes out of `stack` for provider `judged`: lines and override."""
    version = parse_version(judged) or (0, 0, 0)
    lines: list[str] = []
    resources: dict[str, dict[str, Any]] = {}
    for argument in NEWER_ONLY_ARGUMENTS:
        for name, entry in argument.strip(stack, version).items():
            resources.setdefault(argument.resource_type, {})[name] = entry
            lines.append(
                f"{argument.resource_type}.{name}: {argument.block}.{argument.argument} "
                f"({argument.reason})"
            )
    return lines, ({"resource": resources} if resources else {})


@dataclass(frozen=True)
class Result:
    """One finished Terraform command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(
    terraform: TerraformCli | Path,
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
) -> Result:
    """Run `terraform <args>` in `cwd`; on timeout or interrupt, stop it and its providers.

    Terraform runs in its own process group so its provider plugins stop with it.
    """
    executable = terraform.path if isinstance(terraform, TerraformCli) else terraform
    command = (str(executable), *args)
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(process)
        raise TerraformError(
            f"terraform {' '.join(args)} in {cwd} did not finish within {timeout:g} s"
        ) from None
    except BaseException:
        stop_process_group(process)
        raise
    return Result(
        args=tuple(args),
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=time.monotonic() - started,
    )


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM a process group (Terraform and its providers; the emulator), SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Diagnostic(NamedTuple):
    """One Terraform diagnostic: severity ("error"/"warning"), summary, detail, address."""

    severity: str
    summary: str
    detail: str
    address: str

    def line(self) -> str:
        detail = " ".join(self.detail.split())
        text = f"{self.severity}: {self.address}: {self.summary}"
        return f"{text}: {detail}" if detail else text


def json_messages(stdout: str) -> list[dict[str, Any]]:
    """The JSON messages of a `-json` command's output (one per line; other lines skipped)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def diagnostic_from_json(raw: Mapping[str, Any], stack_text: str | None) -> Diagnostic:
    """One diagnostic of Terraform's JSON output.

    A diagnostic about configuration carries a file range, not an address; with
    the stack's JSON text the range's line is turned into the address it falls in.
    """
    address = str(raw.get("address") or "")
    where = raw.get("range") or {}
    if not address and where:
        line = int(where.get("start", {}).get("line", 0))
        filename = str(where.get("filename", ""))
        found = address_at_line(stack_text, line) if filename == STACK_FILE else None
        address = found or f"{filename}:{line}"
    return Diagnostic(
        severity=str(raw.get("severity", "")),
        summary=str(raw.get("summary", "")),
        detail=str(raw.get("detail", "")),
        address=address or "(configuration)",
    )


_KEY_LINE = re.compile(r'^(?P<indent> *)"(?P<key>[^"]+)": [{\[]')
# Top-level sections whose objects are addressed <type>.<name> (data sources data.<type>.<name>).
_ADDRESSED = {"resource": "", "data": "data.", "module": "module.", "output": "output."}


def address_at_line(stack_text: str | None, line: int) -> str | None:
    """The address of the block holding `line` (1-based) of a cdktf stack's JSON.

    cdktf writes its JSON indented by two spaces per level, so the enclosing
    keys are the nearest lines above with less indentation.
    """
    if stack_text is None or line < 1:
        return None
    lines = stack_text.splitlines()[:line]
    keys: list[str] = []
    depth = None
    for text in reversed(lines):
        match = _KEY_LINE.match(text)
        if match is None:
            continue
        level = len(match["indent"]) // 2
        if depth is None or level < depth:
            keys.insert(0, match["key"])
            depth = level
            if level == 1:
                break
    if not keys or keys[0] not in _ADDRESSED:
        return None
    section = keys[0]
    wanted = 3 if section in ("resource", "data") else 2
    if len(keys) < wanted:
        return None
    return _ADDRESSED[section] + ".".join(keys[1:wanted])


def scratch_folder(prefix: str) -> Path:
    """A new temporary folder for workspaces and the CLI config (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=prefix))
