"""Read and validate the settings file, turning every problem into one clear line."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from epoch_settings.model import CROSS_CHECK_ERROR, Problem, Settings, _Section

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_PATH = PROJECT_ROOT / "settings.toml"
SETTINGS_ENV_VAR = "EPOCH_SETTINGS"

# What a pattern-constrained value should look like, by the key's last part.
_PATTERN_HINTS = {
    "regions": "an AWS region name such as us-east-1",
    "drill_regions": "an AWS region name such as us-east-1",
    "region_order": "an AWS region name such as us-east-1",
    "weights": "an AWS region name such as us-east-1",
    "domain_name": "a lower-case domain name such as example.com",
    "hosted_zone_id": "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
    "alarm_email": "an e-mail address such as oncall@example.com",
    "app_name": (
        "3-24 lower-case letters, digits and hyphens, "
        "starting with a letter and ending with a letter or digit"
    ),
    "bucket": (
        "an S3 bucket name: 3-63 lower-case letters, digits and hyphens, "
        "starting and ending with a letter or digit"
    ),
    "lock_table": "a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'",
    "state_key": "an S3 object key of 1-1024 letters, digits and _./-",
    "tags": "a tag of letters, digits, spaces and _.:/=+@-",
    "github_repository": "a GitHub repository as owner/name, such as my-org/epoch-register",
    "branch": "a branch name of letters, digits and ._/-, starting with a letter or digit",
    "environment": (
        "a GitHub environment name of letters, digits and ._/-, starting with a letter or digit"
    ),
}


class SettingsError(Exception):
    """Settings problems a user can fix: `lines` holds one line per problem."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def settings_path_from(argv: Sequence[str], environ: Mapping[str, str]) -> Path:
    """`--settings FILE` (the last one) wins over $EPOCH_SETTINGS, then ./settings.toml."""
    chosen: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == "--settings":
            chosen = next(args, "")
        elif arg.startswith("--settings="):
            chosen = arg.split("=", 1)[1]
        else:
            raise SettingsError(
                f"unknown argument {arg!r}: the only option is --settings FILE "
                "(see `pipenv run synth --help`)"
            )
        if not chosen:
            raise SettingsError("--settings needs a file path, e.g. --settings prod.toml")
    if chosen is not None:
        return Path(chosen)
    if environ.get(SETTINGS_ENV_VAR):
        return Path(environ[SETTINGS_ENV_VAR])
    return DEFAULT_SETTINGS_PATH


def load_settings(path: Path | str | None = None) -> Settings:
    """Load and validate a settings file; raise SettingsError naming each bad key."""
    path = Path(path) if path is not None else DEFAULT_SETTINGS_PATH
    try:
        # utf-8-sig drops the byte order mark some Windows editors write; tomllib rejects it.
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SettingsError(
            f"{path}: settings file not found; copy settings.toml or point "
            f"{SETTINGS_ENV_VAR} (or --settings) at your file"
        ) from None
    except IsADirectoryError:
        raise SettingsError(
            f"{path}: is a folder, not a settings file; "
            f"point --settings (or {SETTINGS_ENV_VAR}) at a .toml file"
        ) from None
    except OSError as err:
        raise SettingsError(f"{path}: cannot read settings file: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise SettingsError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
            "save the file as UTF-8, as TOML requires"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{path}: not valid TOML: {err}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        field_errors = [d for d in err.errors() if d["type"] != CROSS_CHECK_ERROR]
    # Cross-field checks run on whatever is valid, so one run reports every problem.
    _, _, cross_problems = _validate_parts(Settings, raw, prefix="")
    lines = [f"{path}: {_describe(detail)}" for detail in field_errors]
    lines += [f"{path}: {key}: {text}" for key, text in cross_problems]
    raise SettingsError(*lines)


def _validate_parts(
    model: type[_Section], raw: object, prefix: str
) -> tuple[_Section, set[str], list[Problem]]:
    """Validate each field of `model` on its own and run the checks whose fields are valid.

    Returns the model built from the valid fields (unvalidated as a whole), the dotted
    names of the valid fields, and every cross-field problem, keys as the file spells them.
    """
    data: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    values: dict[str, Any] = {}
    valid: set[str] = set()
    problems: list[Problem] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            if key in data and not isinstance(data[key], dict):
                continue
            section, section_valid, section_problems = _validate_parts(
                annotation, data.get(key, {}), f"{prefix}{key}."
            )
            values[name] = section
            valid |= {f"{name}.{part}" for part in section_valid}
            problems += section_problems
        elif key in data:
            typ: Any = Annotated[(annotation, *field.metadata)] if field.metadata else annotation
            adapter: TypeAdapter[Any] = TypeAdapter(typ, config=_FIELD_CONFIG)
            try:
                values[name] = adapter.validate_python(data[key])
            except ValidationError:
                continue
            valid.add(name)
        elif not field.is_required():
            values[name] = field.get_default(call_default_factory=True)
            valid.add(name)
    built = model.model_construct(**values)
    problems += [(prefix + key, text) for key, text in built.cross_check_problems(valid)]
    return built, valid, problems


# The per-field validation in `_validate_parts` applies the models' own configuration.
_FIELD_CONFIG = ConfigDict(strict=True, regex_engine="python-re")


def _describe(detail: ErrorDetails) -> str:
    loc = [str(part) for part in detail["loc"] if part != "[key]"]
    key = ".".join(loc)
    kind = detail["type"]
    message = detail["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"{key}: unknown setting (check the spelling; see docs/settings.md)"
    if kind == "missing":
        return f"{key}: required setting is missing"
    if kind == "string_pattern_mismatch":
        hint = next((_PATTERN_HINTS[p] for p in reversed(loc) if p in _PATTERN_HINTS), None)
        if hint is not None:
            return f"{key}: {detail['input']!r} is not {hint}"
    if kind == "too_short":
        ctx = detail.get("ctx", {})
        wanted, got = ctx.get("min_length"), ctx.get("actual_length")
        return f"{key}: needs at least {wanted} entries (got {got})"
    if kind == "too_long":
        ctx = detail.get("ctx", {})
        wanted, got = ctx.get("max_length"), ctx.get("actual_length")
        return f"{key}: allows at most {wanted} entries (got {got})"
    # TOML has arrays and tables, not tuples and models.
    if kind in ("tuple_type", "list_type"):
        return f"{key}: must be an array [...] (got {_shown(detail['input'])})"
    if kind == "dict_type":
        return f"{key}: must be a table {{ key = value, ... }} (got {_shown(detail['input'])})"
    if kind == "model_type":
        return f"{key}: must be a table ([{key}]) of settings (got {_shown(detail['input'])})"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{key}: {message} (got {_shown(detail['input'])})"
    return f"{key}: {message}" if key else message


def _shown(value: object) -> str:
    """A value as the TOML file spells it where Python's repr differs (true, 2024-01-01)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | time):
        return value.isoformat()
    return repr(value)


def settings_from_environment(argv: Sequence[str] | None = None) -> Settings:
    """The settings `main.py` synthesizes from: --settings, $EPOCH_SETTINGS or the default."""
    return load_settings(settings_path_from(argv or [], os.environ))
