"""Deploying the contract suite and the deployment manifest that ``status`` checks."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from chain import artifacts
from chain.alliance import AllianceSpec
from chain.connection import Chain
from chain.errors import DeploymentError
from chain.keystore import write_private_file
from chain.transactions import TxManager


@dataclass(frozen=True)
class ContractRecord:
    address: str
    code_hash: str
    tx_hash: str
    block_number: int


@dataclass
class DeploymentManifest:
    chain_id: int
    deployer: str
    source_digest: str
    contracts: dict[str, ContractRecord] = field(default_factory=dict)
    created_at: str = ""

    def save(self, path: Path) -> None:
        doc = asdict(self)
        write_private_file(Path(path), (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> "DeploymentManifest":
        try:
            doc = json.loads(Path(path).read_text())
            records = {k: ContractRecord(**v) for k, v in doc.pop("contracts").items()}
            return cls(contracts=records, **doc)
        except FileNotFoundError:
            raise DeploymentError(f"no deployment manifest at {path}: run `alliance deploy` or `alliance up`") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise DeploymentError(f"deployment manifest {path} is unreadable: {exc}") from None

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise DeploymentError(f"contract {name} is not in the deployment manifest") from None


def constructor_args(name: str, spec: AllianceSpec, deployed: dict[str, ContractRecord]) -> tuple[Any, ...]:
    """Constructor arguments of each deployable contract, in deployment order."""
    if name == "AllianceRegistry":
        return (spec.proposal_lifetime_days * 86400,)
    if name in ("LicenceRegistry", "DocumentStore", "OracleHub", "AuditHolds", "AuditTrail",
                "AgencyDraws"):
        try:
            return (deployed["AllianceRegistry"].address,)
        except KeyError:
            raise DeploymentError(f"{name} needs the AllianceRegistry deployed first") from None
    if name == "SubsidyLedger":
        try:
            return (deployed["AllianceRegistry"].address, deployed["AuditHolds"].address)
        except KeyError:
            raise DeploymentError(f"{name} needs the AllianceRegistry and AuditHolds deployed first") from None
    raise DeploymentError(f"no constructor arguments defined for {name}")


def deploy_suite(chain: Chain, txm: TxManager, deployer: LocalAccount, spec: AllianceSpec) -> DeploymentManifest:
    """Deploy every contract in ``artifacts.DEPLOYABLE`` order; return the manifest (not yet saved)."""
    manifest = DeploymentManifest(
        chain_id=chain.chain_id,
        deployer=deployer.address,
        source_digest=artifacts.sources_digest(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    for name in artifacts.DEPLOYABLE:
        art = artifacts.load(name)
        factory = chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        result = txm.deploy(deployer, factory, constructor_args(name, spec, manifest.contracts), f"deploy {name}")
        code = chain.w3.eth.get_code(result.contract_address)
        manifest.contracts[name] = ContractRecord(
            address=result.contract_address,
            code_hash="0x" + keccak(bytes(code)).hex(),
            tx_hash=result.tx_hash,
            block_number=result.block_number,
        )
    return manifest


def check_manifest(chain: Chain, manifest: DeploymentManifest) -> list[str]:
    """Problems between the manifest, the chain and the committed artifacts (empty = consistent)."""
    problems: list[str] = []
    if manifest.chain_id != chain.chain_id:
        problems.append(f"manifest is for chain id {manifest.chain_id}, node reports {chain.chain_id}")
        return problems
    for name in artifacts.DEPLOYABLE:
        record = manifest.contracts.get(name)
        if record is None:
            problems.append(f"{name}: not deployed")
            continue
        code = bytes(chain.w3.eth.get_code(record.address))
        if not code:
            problems.append(f"{name}: no code at {record.address}")
            continue
        on_chain = "0x" + keccak(code).hex()
        if on_chain != record.code_hash:
            problems.append(f"{name}: code at {record.address} has hash {on_chain}, manifest says {record.code_hash}")
        if on_chain != artifacts.load(name).deployed_code_hash:
            problems.append(f"{name}: code at {record.address} differs from the committed artifact")
    return problems


def bind(chain: Chain, manifest: DeploymentManifest) -> dict[str, Any]:
    """web3 contract objects for every deployed contract, by name."""
    return {
        name: chain.w3.eth.contract(address=record.address, abi=artifacts.load(name).abi)
        for name, record in manifest.contracts.items()
    }
