"""Compile settings and the committed contract build artifacts under ``contracts/build``.

Running the product needs only the artifacts; the compiler is needed only by
``scripts/compile_contracts.py`` and the test that checks the artifacts are current.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
SOURCE_DIR = CONTRACTS_DIR / "src"
BUILD_DIR = CONTRACTS_DIR / "build"

SOLC_VERSION = "0.8.37"
# Cancun runs on py-evm (eth-tester), anvil (--hardfork cancun) and Besu (cancunTime in genesis).
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

# Contracts that are deployed (the rest are libraries, interfaces and abstract bases).
DEPLOYABLE = ("AllianceRegistry", "LicenceRegistry", "DocumentStore", "OracleHub", "AuditHolds", "SubsidyLedger",
              "AuditTrail", "AgencyDraws")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract as committed under contracts/build."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    metadata: str
    source_digest: str

    @property
    def deployed_code_hash(self) -> str:
        """keccak256 of the runtime code, as ``eth_getCode`` returns it for this contract."""
        from eth_utils import keccak

        return "0x" + keccak(hexstr=self.deployed_bytecode).hex()


def sources_digest(source_dir: Path = SOURCE_DIR) -> str:
    """SHA-256 over every Solidity source (path and content), in path order."""
    h = hashlib.sha256()
    for path in sorted(source_dir.glob("*.sol")):
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def standard_json_input(source_dir: Path = SOURCE_DIR) -> dict[str, Any]:
    """The solc standard-JSON input for every source, with the pinned settings."""
    return {
        "language": "Solidity",
        "sources": {p.name: {"content": p.read_text()} for p in sorted(source_dir.glob("*.sol"))},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "metadata": {"bytecodeHash": "ipfs"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
            },
        },
    }


@lru_cache(maxsize=None)
def load(name: str, build_dir: Path = BUILD_DIR) -> Artifact:
    """Load one committed artifact by contract name."""
    path = build_dir / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no build artifact for contract {name!r} at {path}; run scripts/compile_contracts.py")
    data = json.loads(path.read_text())
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        metadata=data["metadata"],
        source_digest=data["sourceDigest"],
    )


def all_abis(build_dir: Path = BUILD_DIR) -> dict[str, list[dict[str, Any]]]:
    """Every committed contract's ABI, by contract name."""
    return {name: load(name, build_dir).abi for name in DEPLOYABLE}
