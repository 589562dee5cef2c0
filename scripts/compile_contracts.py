#!/usr/bin/env python3
"""Compile every contract under contracts/src with the pinned solc and evmVersion.

Usage:
    python scripts/compile_contracts.py            # write contracts/build/*.json
    python scripts/compile_contracts.py --check    # exit 1 if the committed artifacts are stale

The compiler is the npm package ``solc`` (the official WASM build) behind the thin
``scripts/solc-npm`` command, driven by py-solc-x.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chain.artifacts import (  # noqa: E402
    BUILD_DIR,
    EVM_VERSION,
    OPTIMIZER_RUNS,
    SOLC_VERSION,
    SOURCE_DIR,
    sources_digest,
    standard_json_input,
)

SOLC_COMMAND = ROOT / "scripts" / "solc-npm"


def compile_all(source_dir: Path = SOURCE_DIR) -> dict[str, dict[str, Any]]:
    """Compile the sources; return artifact documents by contract name."""
    import solcx

    version = str(solcx.wrapper.get_solc_version(SOLC_COMMAND))
    if version != SOLC_VERSION:
        raise SystemExit(f"solc {version} found at {SOLC_COMMAND}, {SOLC_VERSION} is pinned (npm ci)")
    output = solcx.compile_standard(
        standard_json_input(source_dir), solc_binary=SOLC_COMMAND, base_path=str(source_dir),
        allow_paths=str(source_dir),
    )
    digest = sources_digest(source_dir)
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in sorted(output["contracts"].items()):
        for name, out in sorted(contracts.items()):
            bytecode = out["evm"]["bytecode"]["object"]
            if not bytecode or not out["abi"]:
                continue  # interfaces, abstract contracts, and libraries of internal constants
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": {"solc": SOLC_VERSION, "evmVersion": EVM_VERSION, "optimizerRuns": OPTIMIZER_RUNS},
                "sourceDigest": digest,
                "abi": out["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                "metadata": out["metadata"],
            }
    return artifacts


def stale_artifacts(fresh: dict[str, str], build_dir: Path = BUILD_DIR) -> list[str]:
    """Artifact files that differ between a fresh build (file name → text) and ``build_dir``."""
    committed = {p.name: p.read_text() for p in build_dir.glob("*.json")}
    return sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts, write nothing")
    args = parser.parse_args(argv)
    fresh = {f"{name}.json": render(doc) for name, doc in compile_all().items()}
    if args.check:
        stale = stale_artifacts(fresh)
        if stale:
            print("stale contract artifacts: " + ", ".join(stale) + " (run scripts/compile_contracts.py)")
            return 1
        print(f"contract artifacts are current ({len(fresh)} contracts)")
        return 0
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    for old in BUILD_DIR.glob("*.json"):
        if old.name not in fresh:
            old.unlink()
    for name, text in fresh.items():
        (BUILD_DIR / name).write_text(text)
    print(f"wrote {len(fresh)} artifacts to {BUILD_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
