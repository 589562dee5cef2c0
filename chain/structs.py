"""Contract struct return values as dicts keyed by the ABI's field names."""

from __future__ import annotations

from typing import Any


def _named(component: dict[str, Any], value: Any) -> Any:
    if component.get("type", "").startswith("tuple") and "components" in component:
        if component["type"].endswith("[]"):
            inner = {**component, "type": component["type"][:-2]}
            return [_named(inner, v) for v in value]
        return {c["name"]: _named(c, v) for c, v in zip(component["components"], value)}
    return value


def call_struct(fn: Any, block: str | int = "latest") -> dict[str, Any]:
    """Call a view function that returns one struct; return it as a dict of its field names."""
    value = fn.call(block_identifier=block)
    return _named(fn.abi["outputs"][0], value)
