"""The catalogue lists the 29 points with everything an inspector needs, the generated document is
current, and the benchmark script prints its JSON line at a tiny size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from audit.catalogue import DOC, catalogue, main, render_markdown
from audit.findings import STAGES
from chain.config import AuditSettings

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_IDS = ["PUB1", "PUB2", "PUB3", "PUB4", "APP1", "APP2", "APP3", "APP4", "APP5", "APP6", "REV1", "REV2",
                 "REV3", "REV4", "REV5", "REV6", "NOT1", "NOT2", "NOT3", "NOT4", "PAY1", "PAY2", "PAY3", "PAY4",
                 "PAY5", "USE1", "USE2", "USE3", "USE4"]


def test_catalogue_has_the_29_points_in_order_with_their_documentation():
    entries = catalogue()
    assert [e["id"] for e in entries] == CATALOGUE_IDS
    assert {e["stage"] for e in entries} == set(STAGES)
    for e in entries:
        for key in ("title_zh", "title_en", "method", "why", "exclusions", "test_case", "sources"):
            assert e[key].strip(), (e["id"], key)
        assert e["levels"]["warning"] and e["levels"]["alarm"], e["id"]
        assert e["version"].startswith(e["id"] + "@") and e["enabled"]
        assert e["events"], e["id"]
        for name in e["thresholds"]:
            assert name in e["method"] + " ".join(str(v) for v in e["levels"].values()) + e["exclusions"], \
                (e["id"], name)  # every threshold is explained where it is used


def test_configured_threshold_appears_in_the_catalogue_with_its_new_version():
    default = {e["id"]: e for e in catalogue()}
    tuned = {e["id"]: e for e in catalogue(AuditSettings(thresholds=("NOT2.min_wd=7",), disabled=("USE2",)))}
    assert tuned["NOT2"]["thresholds"] == {"min_wd": 7} and tuned["NOT2"]["defaults"] == {"min_wd": 5}
    assert tuned["NOT2"]["version"] != default["NOT2"]["version"]
    assert not tuned["USE2"]["enabled"]
    assert "| `min_wd` | 7 | 5 |" in render_markdown(AuditSettings(thresholds=("NOT2.min_wd=7",)))


def test_generated_document_is_current(tmp_path):
    assert DOC.read_text(encoding="utf-8") == render_markdown(), "run: python -m audit.catalogue"
    stale = tmp_path / "points.md"
    stale.write_text("old", encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and main(["--check", "--out", str(stale)]) == 0


def test_bench_script_prints_json_at_a_tiny_size():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_audit.py"), "--sizes", "300,600",
                           "--events", "20"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [r["applications"] for r in lines] == [300, 600]
    for r in lines:
        assert set(r) == {"applications", "full_scan_s", "event_ms_p99", "alerts"}
        assert r["full_scan_s"] >= 0 and r["event_ms_p99"] >= 0 and r["alerts"] > 0
