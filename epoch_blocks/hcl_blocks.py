"""Untyped nested blocks of the provider bindings, kept blocks by `cdktf synth --hcl`.

The bindings type a few deeply nested blocks as `Any` (the WAFv2 rule
`statement`), and cdktf 0.21 writes an untyped value into HCL as an argument
(`statement = { ... }`), which Terraform rejects ("An argument named
"statement" is not expected here"). In Terraform JSON, the same value is read
as the block it is. So with HCL output only, the untyped attribute is written
as an override in the shape cdktf's HCL renderer gives typed blocks; JSON
output is not touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdktf import App
from constructs import Construct


def hcl_output(scope: Construct) -> bool:
    """Whether this synthesis writes HCL (`cdktf synth --hcl`) instead of Terraform JSON."""
    return bool(App.of(scope).hcl_output)


def as_hcl_blocks(value: Mapping[str, Any]) -> dict[str, Any]:
    """`value` (Terraform names) with every object and list of objects marked as nested blocks."""
    marked: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, Mapping):
            marked[key] = _block(as_hcl_blocks(item))
        elif _objects(item):
            marked[key] = _block([as_hcl_blocks(entry) for entry in item])
        else:
            marked[key] = item
    return marked


def _objects(item: Any) -> bool:
    return (
        isinstance(item, Sequence)
        and not isinstance(item, str)
        and bool(item)
        and all(isinstance(entry, Mapping) for entry in item)
    )


def _block(value: Any) -> dict[str, Any]:
    # What cdktf's generated bindings pass its HCL renderer for a nested block.
    return {"value": value, "isBlock": True, "type": "list", "storageClassType": "block"}
