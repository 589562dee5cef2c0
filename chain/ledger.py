"""The assembled chain side of the product: node connection, journal, transaction manager,
deployed contracts and event indexer, built from one ``Settings``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chain import artifacts
from chain.alliance import AllianceSpec
from chain.bootstrap import BootstrapReport, bootstrap_alliance
from chain.config import Settings
from chain.connection import Chain, connect
from chain.deploy import DeploymentManifest, bind, check_manifest, deploy_suite
from chain.errors import DeploymentError, RevertDecoder
from chain.indexer import Indexer
from chain.journal import open_count
from chain.keystore import DEPLOYER_ALIAS, Keyring
from chain.reconcile import ReconcileReport, reconcile
from chain.transactions import TxManager

log = logging.getLogger(__name__)


@dataclass
class Ledger:
    settings: Settings
    spec: AllianceSpec
    chain: Chain
    sessions: sessionmaker[Session]
    keyring: Keyring
    txm: TxManager
    ready: threading.Event
    manifest: DeploymentManifest | None = None
    contracts: dict[str, Any] = field(default_factory=dict)
    indexer: Indexer | None = None

    # ------------------------------------------------------------------ assembly

    @classmethod
    def open(cls, settings: Settings, spec: AllianceSpec, keyring: Keyring, sessions: sessionmaker[Session],
             chain: Chain | None = None) -> "Ledger":
        chain = chain or connect(settings.effective_rpc_url, settings.chain.expected_chain_id)
        ready = threading.Event()
        ready.set()
        decoder = RevertDecoder(artifacts.all_abis().values())
        txm = TxManager(chain, sessions, decoder, receipt_timeout=settings.chain.receipt_timeout,
                        gas_multiplier=settings.chain.gas_multiplier, ready=ready)
        ledger = cls(settings=settings, spec=spec, chain=chain, sessions=sessions, keyring=keyring, txm=txm,
                     ready=ready)
        chain.fund(keyring.addresses())
        if chain.kind != "memory" and settings.deployment_file.exists():
            ledger._attach(DeploymentManifest.load(settings.deployment_file))
        return ledger

    def _attach(self, manifest: DeploymentManifest) -> None:
        self.manifest = manifest
        self.contracts = bind(self.chain, manifest)
        start = min(r.block_number for r in manifest.contracts.values())
        if self.indexer is not None:
            self.indexer.stop()
        self.indexer = Indexer(self.chain, self.sessions, self.contracts, start_block=start,
                               batch_blocks=self.settings.chain.indexer_batch_blocks,
                               poll_seconds=self.settings.chain.indexer_poll_seconds)

    def reconcile(self) -> ReconcileReport:
        """Resubmit what the chain is missing from the journal (call before accepting writes)."""
        report = reconcile(self.chain, self.sessions, self.settings.chain.receipt_timeout)
        self.txm.reset_nonces()
        if report.resubmitted or report.failed:
            log.warning("journal reconciled: %s", report.as_dict())
        return report

    def deploy(self) -> DeploymentManifest:
        """Deploy the contract suite and record the manifest (refuses over a valid deployment)."""
        if self.manifest is not None and not check_manifest(self.chain, self.manifest):
            raise DeploymentError(f"already deployed on chain {self.chain.chain_id}; see {self.settings.deployment_file}")
        if DEPLOYER_ALIAS not in self.keyring:
            raise DeploymentError(
                f"no deployment manifest at {self.settings.deployment_file} and this gateway holds no deployer key: "
                "get deployment.json from the operator who deployed and run `alliance deploy --join FILE`")
        manifest = deploy_suite(self.chain, self.txm, self.keyring.account(DEPLOYER_ALIAS), self.spec)
        if self.chain.kind != "memory":
            manifest.save(self.settings.deployment_file)
        self._attach(manifest)
        return manifest

    def ensure_deployed(self) -> bool:
        """Deploy if there is no valid deployment; return True when it deployed."""
        if self.manifest is not None:
            problems = check_manifest(self.chain, self.manifest)
            if not problems:
                return False
            raise DeploymentError("deployment manifest does not match the chain: " + "; ".join(problems))
        self.deploy()
        return True

    def join(self, manifest: DeploymentManifest) -> dict[str, str]:
        """Attach to a deployment made elsewhere (a department gateway sharing the alliance's contracts):
        the manifest must match the chain and the committed artifacts and the registry must be bootstrapped;
        it is saved as this gateway's manifest. Returns, for each member key held here, its standing on chain."""
        if self.chain.kind == "memory":
            raise DeploymentError("an in-memory chain cannot be shared: join a node reached by http(s)://")
        problems = check_manifest(self.chain, manifest)
        if problems:
            raise DeploymentError(f"the deployment does not match the chain at {self.chain.url}: " + "; ".join(problems))
        if self.manifest is not None and self.manifest.contracts != manifest.contracts \
                and not check_manifest(self.chain, self.manifest):
            raise DeploymentError(f"already attached to another deployment on chain {self.chain.chain_id}; "
                                  f"see {self.settings.deployment_file}")
        registry = bind(self.chain, manifest)["AllianceRegistry"]
        if not registry.functions.isSealed().call():
            raise DeploymentError("the alliance registry of that deployment is not bootstrapped yet: the operator "
                                  "must finish `alliance deploy` first")
        manifest.save(self.settings.deployment_file)
        self._attach(manifest)
        return self.held_members()

    def held_members(self) -> dict[str, str]:
        """For each member key this gateway holds: ``member of <DEPT>``, or why it cannot act."""
        from chain.roles import bytes32_to_code

        out: dict[str, str] = {}
        for member in self.spec.members:
            if member.alias not in self.keyring:
                continue
            address = self.keyring.account(member.alias).address
            active, dept, _ = self.registry.functions.getMember(address).call()
            code = bytes32_to_code(dept) if active else ""
            out[member.alias] = (f"member of {code}" if code == member.department else
                                 f"registered for {code}, not {member.department}" if active else
                                 f"{address} is not an active member")
        return out

    def bootstrap(self) -> BootstrapReport:
        deployer = self.keyring.account(DEPLOYER_ALIAS) if DEPLOYER_ALIAS in self.keyring else None
        return bootstrap_alliance(self.registry, self.txm, deployer, self.spec, self.keyring)

    # ------------------------------------------------------------------ access

    def contract(self, name: str) -> Any:
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentError(f"contract {name} is not deployed: run `alliance deploy`") from None

    @property
    def registry(self) -> Any:
        return self.contract("AllianceRegistry")

    def status(self) -> dict[str, Any]:
        """Head, chain id, contracts, journal lag and indexer lag."""
        head = self.chain.head()
        with self.sessions() as s:
            pending = open_count(s, self.chain.chain_id)
        out: dict[str, Any] = {
            "chain_id": self.chain.chain_id,
            "node": {"url": self.chain.url, "kind": self.chain.kind, "head": head},
            "contracts": {n: r.address for n, r in (self.manifest.contracts.items() if self.manifest else [])},
            "deployment_problems": check_manifest(self.chain, self.manifest) if self.manifest else ["not deployed"],
            "journal": {"pending": pending},
            "indexer": None,
        }
        if self.indexer is not None:
            cursor = self.indexer.cursor()
            out["indexer"] = {"last_block": cursor, "lag_blocks": max(head - cursor, 0),
                              "last_error": self.indexer.last_error}
        return out

    def close(self) -> None:
        if self.indexer is not None:
            self.indexer.stop()
