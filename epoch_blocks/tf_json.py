"""JSON documents (API definitions, policies, dashboards) that may hold Terraform references.

A document is serialized in Python (json.dumps), so its text is exactly what
the project wrote, key order included. A document with Terraform references in
it becomes Terraform's `format()` of that text, with `%[n]s` where each reference
goes and the references (each once) as arguments: the value Terraform computes is the same
string a template with the references inside gave, and the document text is
one HCL string literal escaped here, where cdktf's HCL output (`cdktf synth
--hcl`) cannot break it: cdktf writes a string that holds a reference into HCL
without escaping its double quotes, and `Fn.jsonencode(dict)` does not escape
them either (cdktf issue #2620).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsii
from cdktf import Fn, IResolvable, IResolveContext, Token

# Literal "${" and "%{" would start a Terraform template expression or directive.
# cdktf's own token placeholders ("${TfToken[...]}") must stay as they are.
_LITERAL_TEMPLATE_START = re.compile(r"([$%])\{(?!TfToken\[)")
# A cdktf token placeholder in a string (what a reference looks like before synthesis).
_TOKEN = re.compile(r"(\$\{TfToken\[[^\]]+\]\})")
_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HCL_SPECIAL = re.compile(r'[\\"\x00-\x1f]|[$%]\{')


def hcl_string(text: str) -> str:
    """`text` as a quoted string literal of Terraform's native syntax (HCL)."""

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        if found in ("${", "%{"):
            return found[0] + found
        return _HCL_ESCAPES.get(found, f"\\u{ord(found):04x}")

    return '"' + _HCL_SPECIAL.sub(escape, text) + '"'


@jsii.implements(IResolvable)
class _HclLiteral:
    """A token that cdktf writes verbatim into an expression: an escaped HCL string literal."""

    def __init__(self, text: str) -> None:
        self._literal = hcl_string(text)

    @property
    def creation_stack(self) -> list[str]:
        return []

    def resolve(self, _context: IResolveContext) -> Any:
        return self._literal

    def to_string(self) -> str:
        return self._literal


def format_arguments(encoded: str) -> tuple[str, list[str]]:
    """`format()`'s spec and arguments giving `encoded`, JSON text with cdktf tokens in it.

    Each token becomes `%[n]s` (a token used twice is one argument); a literal
    `%` becomes `%%`.
    """
    parts = _TOKEN.split(encoded)
    literals, references = parts[0::2], parts[1::2]
    arguments = list(dict.fromkeys(references))
    spec = literals[0].replace("%", "%%")
    for reference, literal in zip(references, literals[1:], strict=True):
        spec += f"%[{arguments.index(reference) + 1}]s" + literal.replace("%", "%%")
    return spec, arguments


def json_document(value: Any) -> str:
    """`value` as compact JSON, for a Terraform string argument.

    Without references: the JSON text, with literal "${"/"%{" escaped for
    Terraform. With references: `format()` of the text with the references
    as its arguments (see the module docstring).
    """
    encoded = json.dumps(value, separators=(",", ":"))
    if not _TOKEN.search(encoded):
        return _LITERAL_TEMPLATE_START.sub(r"\1\1{", encoded)
    spec, arguments = format_arguments(encoded)
    formatted: str = Fn.format(Token.as_string(_HclLiteral(spec)), arguments)
    return formatted
