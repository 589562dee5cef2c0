"""Fixtures for the OpenAttestation tests (see tests/documents/oa_bridge.py for the JS side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.documents.oa_bridge import run_node

JsOps = Callable[..., Any]


@pytest.fixture(scope="session")
def js() -> JsOps:
    """``js(op, **args)`` runs one op of scripts/oa/ops.cjs; ``js.batch([...])`` runs several in one node."""

    def one(op: str, **args: Any) -> Any:
        return run_node("ops.cjs", [{"op": op, **args}])[0]

    def batch(requests: list[dict[str, Any]]) -> list[Any]:
        return run_node("ops.cjs", requests)

    one.batch = batch  # type: ignore[attr-defined]
    return one
