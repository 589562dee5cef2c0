"""Fixtures for the oracle tests: one generated district (with broken lines) shared by the module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.sample import generate, write

KEY = b"alliance-test-secret"
ENTERPRISES = 400
BROKEN = 28  # 7 per CSV source: every kind each source can have at least once


@pytest.fixture(scope="session")
def hmac_key() -> bytes:
    return KEY


@pytest.fixture(scope="session")
def sample():
    return generate(ENTERPRISES, 0.15, seed=26, batch_size=60)  # a seed that draws 18 of the 19 kinds


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory, sample) -> Path:
    out = tmp_path_factory.mktemp("district")
    write(sample, out, broken=BROKEN)
    return out


@pytest.fixture(scope="session")
def truth(sample_dir) -> dict:
    return json.loads((sample_dir / "anomalies.json").read_text(encoding="utf-8"))
