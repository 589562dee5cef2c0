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


_FLAT_FIELDS: dict[int, tuple[dict[str, Any], tuple[str, ...] | None]] = {}  # id(output) -> (it, names)


def _flat_field_names(output: dict[str, Any]) -> tuple[str, ...] | None:
    """The field names of a struct of plain values (None: not a struct, or one with nested structs),
    worked out once per output ABI: this is on the verification's hot path."""
    cached = _FLAT_FIELDS.get(id(output))
    if cached is None or cached[0] is not output:
        parts = output.get("components") if output.get("type") == "tuple" else None
        flat = bool(parts) and not any(str(c.get("type", "")).startswith("tuple") for c in parts)
        cached = (output, tuple(c["name"] for c in parts) if flat else None)
        if len(_FLAT_FIELDS) >= 64:  # contracts re-created per request: do not hold their ABIs forever
            _FLAT_FIELDS.clear()
        _FLAT_FIELDS[id(output)] = cached
    return cached[1]


def call_struct(fn: Any, block: str | int = "latest") -> dict[str, Any]:
    """Call a view function that returns one struct; return it as a dict of its field names."""
    value = fn.call(block_identifier=block)
    output = fn.abi["outputs"][0]
    names = _flat_field_names(output)
    return dict(zip(names, value)) if names is not None else _named(output, value)
