"""Bridge to the JS reference library (scripts/oa/*.cjs) for the OpenAttestation tests.

The JS packages come from package-lock.json (`make setup` runs `npm ci`). When they are missing
the tests that need them fail with that instruction instead of being skipped: compatibility with
the JS library is what these tests exist to prove.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OA_SCRIPTS = ROOT / "scripts" / "oa"
REQUIRED_PACKAGES = ("@govtechsg/open-attestation", "@govtechsg/oa-verify", "ethers")


def _node_problem() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    missing = [p for p in REQUIRED_PACKAGES if not (ROOT / "node_modules" / p / "package.json").is_file()]
    if missing:
        return f"npm packages missing from {ROOT / 'node_modules'}: {', '.join(missing)}"
    return None


def run_node(script: str, payload: Any = None, *args: str, timeout: float = 120) -> Any:
    """Run scripts/oa/<script> with ``payload`` as JSON on stdin; return its stdout parsed as JSON.

    The payload is sent ASCII-escaped, so that even lone surrogates reach node intact.
    """
    problem = _node_problem()
    if problem:
        pytest.fail(f"{problem}: run `make setup` (npm ci from package-lock.json) first", pytrace=False)
    proc = subprocess.run(
        ["node", str(OA_SCRIPTS / script), *args],
        input=None if payload is None else json.dumps(payload),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(f"node {script} {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}", pytrace=False)
    return json.loads(proc.stdout)
