"""Small readers over synthesized Terraform JSON shared by the infra tests."""

from __future__ import annotations

import re
from typing import Any

from tests.infra.conftest import Synthesized

ROOT = "epoch-register"


def resources(app: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    return app.resources(ROOT, resource_type)


def only(app: Synthesized, resource_type: str) -> dict[str, Any]:
    (value,) = resources(app, resource_type).values()
    return value


def region_of(resource: dict[str, Any]) -> str:
    """The region a resource lands in, from its aliased provider (aws.us_east_1)."""
    provider = resource["provider"]
    assert provider.startswith("aws."), provider
    return str(provider.removeprefix("aws.").replace("_", "-"))


def reference(resource_type: str, address: str, attribute: str) -> str:
    return f"${{{resource_type}.{address}.{attribute}}}"


def references(text: str, resource_type: str, attribute: str) -> set[str]:
    """Addresses of `resource_type` whose `attribute` is referenced in `text`."""
    pattern = rf"{re.escape(resource_type)}\.([A-Za-z0-9_]+)\.{re.escape(attribute)}\b"
    return set(re.findall(pattern, text))


def is_key_policy(name: str) -> bool:
    """KMS key-policy documents are named `*_key_policy` (cdktf may add a hash suffix)."""
    return re.search(r"_key_policy(_[0-9A-F]{8})?$", name) is not None


_FORMAT_CALL = re.compile(r"\$\{format\((?P<rest>.*)\)\}", re.S)
_HCL_UNESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def format_call(value: str) -> tuple[str, list[str]]:
    """A document written as `${format("<HCL string>", refs...)}`: the string literal
    as written, and the references."""
    call = _FORMAT_CALL.fullmatch(value)
    assert call is not None, value[:80]
    rest = call.group("rest")
    assert rest.startswith('"'), rest[:40]
    end = 1
    while rest[end] != '"':
        end += 2 if rest[end] == "\\" else 1
    arguments = [a.strip() for a in rest[end + 1 :].split(",") if a.strip()]
    return rest[: end + 1], arguments


def hcl_string_value(literal: str) -> str:
    """What a quoted HCL string literal (no interpolations) stands for."""
    text, index = [], 1
    while index < len(literal) - 1:
        char = literal[index]
        if char == "\\":
            escaped = literal[index + 1]
            if escaped == "u":
                text.append(chr(int(literal[index + 2 : index + 6], 16)))
                index += 6
                continue
            text.append(_HCL_UNESCAPES[escaped])
            index += 2
        elif literal.startswith(("$${", "%%{"), index):
            text.append(literal[index + 1 : index + 3])
            index += 3
        else:
            text.append(char)
            index += 1
    return "".join(text)


def document_text(value: str) -> str:
    """A synthesized JSON document (epoch_blocks.tf_json) as JSON text with `${reference}`s.

    A document with references is `${format("<HCL string>", refs...)}`: each
    reference goes where its `%[n]s` is. A plain document is returned unchanged.
    """
    if _FORMAT_CALL.fullmatch(value) is None:
        return value
    literal, arguments = format_call(value)
    return re.sub(
        r"%(%|\[(\d+)\]s)",
        lambda m: "%" if m.group(1) == "%" else f"${{{arguments[int(m.group(2)) - 1]}}}",
        hcl_string_value(literal),
    )
