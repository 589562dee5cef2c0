"""The benchmark scripts run end to end at a tiny size and print what they promise: one JSON line
per size on stdout, the last line the largest size with exactly the documented keys. No timing
is asserted (the figures are measured by running the scripts, see DESIGN.md), and every process
a script starts is gone when it exits."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

needs_node = pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules" / "@govtechsg").is_dir(),
                                reason="node and the npm packages (npm ci) are needed")
needs_anvil = pytest.mark.skipif(not ANVIL.is_file(), reason="the anvil binary (npm ci) is needed")


def _leftovers(marker: str) -> list[str]:
    """Command lines of live processes mentioning ``marker`` (the script's temp directory prefix)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text and "pytest" not in text:
            found.append(text)
    return found


def _run(script: str, *args: str, timeout: float) -> list[dict]:
    proc = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"{script} printed nothing on stdout; stderr:\n{proc.stderr[-2000:]}"
    return [json.loads(line) for line in lines]  # every stdout line is JSON, the last one included


def _figures_ok(result: dict, keys: set[str]) -> None:
    assert set(result) == keys, result
    assert all(isinstance(result[k], (int, float)) and not isinstance(result[k], bool) for k in keys), result
    assert all(math.isfinite(result[k]) and result[k] >= 0 for k in keys), result


def test_bench_document_is_wrap_cjs_document() -> None:
    """Both implementations get the same documents: ours are the ones wrap.cjs generates."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    sys.path.insert(0, str(SCRIPTS))
    try:
        from bench_common import bench_document
    finally:
        sys.path.remove(str(SCRIPTS))
    generated = subprocess.run(["node", str(SCRIPTS / "oa" / "wrap.cjs"), "--generate", "30"], capture_output=True,
                               text=True, check=True, cwd=ROOT, timeout=60).stdout
    assert json.loads(generated) == [bench_document(i) for i in range(30)]


@needs_node
@needs_anvil
def test_bench_anchor_prints_json_lines() -> None:
    results = _run("bench_anchor.py", "--sizes", "20,50", "--repeat", "2", timeout=300)
    keys = {"docs", "docs_per_s", "oa_docs_per_s", "ratio", "tx_per_doc"}
    assert [r["docs"] for r in results] == [20, 50]
    for result in results:
        _figures_ok(result, keys)
        assert result["tx_per_doc"] == round(1 / result["docs"], 6)  # one transaction for the batch
    assert not _leftovers("bench-anchor-")


@needs_anvil
def test_bench_verify_prints_json_lines() -> None:
    results = _run("bench_verify.py", "--sizes", "50", "--http-seconds", "3", "--warmup", "10", "--sample", "5",
                   "--concurrency", "4", timeout=600)
    assert len(results) == 1 and results[-1]["docs"] == 50
    _figures_ok(results[-1], {"docs", "verify_per_s", "http_req_per_s", "http_p99_ms"})
    assert not _leftovers("bench-verify-")
