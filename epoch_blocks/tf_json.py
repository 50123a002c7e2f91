"""JSON documents (API definitions, policies, dashboards) that may hold Terraform references.

`Fn.jsonencode(dict)` renders the dict as an HCL object literal and does not
escape double quotes inside its strings, so a string such as an API Gateway
response template `{"error": ...}` yields HCL that Terraform cannot parse
(cdktf issue #2620). Serializing in Python instead gives one JSON string in
which each cdktf token resolves to a `${...}` interpolation: a Terraform
template whose only expressions are the references themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Literal "${" and "%{" would start a Terraform template expression or directive.
# cdktf's own token placeholders ("${TfToken[...]}") must stay as they are.
_LITERAL_TEMPLATE_START = re.compile(r"([$%])\{(?!TfToken\[)")


def json_document(value: Any) -> str:
    """`value` as compact JSON, safe to embed in Terraform JSON as a template string."""
    encoded = json.dumps(value, separators=(",", ":"))
    return _LITERAL_TEMPLATE_START.sub(r"\1\1{", encoded)
