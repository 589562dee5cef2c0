"""Fixtures for the "PostgreSQL in production" tests: empty (unmigrated) databases on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _fresh_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database with no tables at all: SQLite in a temp dir, and the same on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = request.getfixturevalue("pg_server")
    url, drop = _fresh_pg_database(admin)
    try:
        yield url
    finally:
        drop()
