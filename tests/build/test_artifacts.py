"""The committed contract artifacts are exactly what the pinned compiler builds from the sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chain import artifacts

ROOT = Path(__file__).resolve().parents[2]
SOLC = ROOT / "node_modules" / "solc"


@pytest.fixture(scope="module")
def fresh_build() -> dict[str, dict]:
    if not SOLC.exists():
        pytest.fail("the npm package solc is missing: run `make setup` (npm ci) before the tests")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import compile_contracts
    finally:
        sys.path.pop(0)
    return compile_contracts.compile_all()


def test_committed_artifacts_match_a_fresh_build(fresh_build: dict[str, dict]) -> None:
    committed = {p.stem: json.loads(p.read_text()) for p in artifacts.BUILD_DIR.glob("*.json")}
    assert sorted(committed) == sorted(fresh_build), "contracts added or removed without rebuilding"
    for name, doc in fresh_build.items():
        for key in ("abi", "bytecode", "deployedBytecode", "metadata", "sourceDigest", "compiler"):
            assert committed[name][key] == doc[key], f"{name}.{key} is stale: run `make contracts` and commit"


def test_artifacts_pin_compiler_and_evm_version(fresh_build: dict[str, dict]) -> None:
    for name, doc in fresh_build.items():
        assert doc["compiler"] == {"solc": artifacts.SOLC_VERSION, "evmVersion": artifacts.EVM_VERSION,
                                   "optimizerRuns": artifacts.OPTIMIZER_RUNS}
        metadata = json.loads(doc["metadata"])
        assert metadata["settings"]["evmVersion"] == artifacts.EVM_VERSION
        assert metadata["compiler"]["version"].startswith(artifacts.SOLC_VERSION)
        assert doc["sourceDigest"] == artifacts.sources_digest()


def test_every_deployable_contract_has_an_artifact() -> None:
    for name in artifacts.DEPLOYABLE:
        art = artifacts.load(name)
        assert art.bytecode.startswith("0x") and len(art.deployed_bytecode) > 2
        assert len(bytes.fromhex(art.deployed_bytecode[2:])) <= 24576, f"{name} exceeds the EIP-170 size limit"


def test_a_changed_source_makes_the_artifacts_stale(tmp_path: Path) -> None:
    """The check that CI runs fails as soon as a source changes without a rebuild."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import compile_contracts
    finally:
        sys.path.pop(0)
    src = tmp_path / "src"
    src.mkdir()
    for path in artifacts.SOURCE_DIR.glob("*.sol"):
        (src / path.name).write_text(path.read_text())
    registry = src / "AllianceRegistry.sol"
    registry.write_text(registry.read_text().replace("error EmptyCode();", "error EmptyCode();\n    error Extra();"))
    fresh = {f"{n}.json": compile_contracts.render(d) for n, d in compile_contracts.compile_all(src).items()}
    # every artifact records the digest of all sources, so all of them go stale together
    assert compile_contracts.stale_artifacts(fresh) == sorted(fresh)
    assert "AllianceRegistry.json" in fresh and len(fresh) == len(artifacts.DEPLOYABLE)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "current" in result.stdout, result.stdout + result.stderr
