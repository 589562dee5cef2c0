"""scripts/load_gateway.py runs end to end at a tiny size and ends with its JSON figures (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chain.node import find_anvil

pytestmark = [pytest.mark.postgres, pytest.mark.anvil, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_gateway.py"


def _load_databases(admin_url: str) -> set[str]:
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'alliance_load_%'")).scalars())
    finally:
        engine.dispose()


def test_load_script_prints_its_figures_as_json(pg_server: str) -> None:
    try:
        find_anvil()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"anvil binary not installed: {exc}")
    before = _load_databases(pg_server)
    result = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "2", "--workers", "4", "--licences", "5",
                             "--scrypt-n", "1024", "--pg-admin-url", pg_server],
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert {"nproc", "seconds", "workers", "results"} <= set(summary)
    assert set(summary["results"]) == {"1", "2"}
    for count, workloads in summary["results"].items():
        assert set(workloads) == {"verify", "anchor"}, count
        for name, figures in workloads.items():
            assert {"rps", "p50_ms", "p99_ms", "errors", "requests"} <= set(figures), (count, name)
            assert figures["requests"] > 0 and figures["errors"] == 0, (count, name, figures)
        anchor = workloads["anchor"]
        assert anchor["still_pending"] == 0 and anchor["anchor_transactions_not_mined"] == 0, anchor
        assert anchor["anchor_transactions"] == anchor["batches"], "a batch was anchored more than once"
    # the human-readable lines come first, one per workload and process count
    assert sum("req/s" in line for line in lines[:-1]) == 4
    # everything it created is gone: its database ...
    assert _load_databases(pg_server) == before
    # ... and its processes (no anvil or gateway still serving its data directories)
    left = subprocess.run(["pgrep", "-af", "alliance-load-"], capture_output=True, text=True).stdout
    assert left.strip() == "", left
