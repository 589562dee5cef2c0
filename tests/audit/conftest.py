"""Fixtures of the audit tests: a fresh SQLite database per test (the audit tables), findings built by
hand, and the subsidy alliance on an in-process eth-tester chain with AuditTrail, AuditHolds and
SubsidyLedger deployed once per module (each test runs in a chain snapshot, reverted afterwards).

The alert store and the layers are driven through ``audit.routing.AuditChain`` over eth-tester: its
transactions are sent from the alliance's unlocked test accounts, and a refused one raises the
contract's own error (``chain.errors.ContractRevert``), as the ledger's TxManager does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from audit import models
from audit.findings import Finding, Level
from audit.routing import AuditChain, AuditEnv
from chain import artifacts
from chain.config import Settings
from chain.db import Base, make_engine, session_factory
from chain.errors import RevertDecoder, revert_data
from chain.transactions import REVERTS
from tests.contracts.conftest import (
    SubsidyFlow,
    bootstrap_subsidy_registry,
    deploy_contract,
    deploy_subsidy,
    subsidy_people,
)

AUDIT_TABLES = [m.__table__ for m in (models.AuditAlert, models.AuditAlertEvent, models.AuditBatch,
                                      models.AuditRecord, models.AuditDisposition, models.AuditNotice,
                                      models.AuditCase, models.AuditCaseStep)]
# 2026-12-01 10:00 Asia/Shanghai, a Tuesday
T0 = 1_796_090_400
DAY = 86400


def finding(point: str = "PAY2", level: Level = Level.PROMPT, subject: str = "0x" + "ab" * 32, *,
            subject_type: str = "application", stage: str = "payout", version: str | None = None,
            department: str | None = "SCIENCE", application_id: str | None = None, amount_fen: int | None = 150_000_00,
            **facts: Any) -> Finding:
    """A hand-built finding; facts default to one field with its source department."""
    return Finding(point_id=point, level=level, stage=stage, subject_type=subject_type, subject_id=subject,
                   rule_version=version or f"{point}@1",
                   facts=facts or {"account_holder": {"value": "ACME Ltd", "source": {"department": "FINANCE",
                                                                                        "file": "bank.csv",
                                                                                        "line": 7}}},
                   department=department, amount_fen=amount_fen,
                   application_id=application_id if application_id is not None
                   else (subject if subject_type == "application" else None))


@pytest.fixture
def sessions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    Base.metadata.create_all(engine, tables=AUDIT_TABLES)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def offline_env(sessions, tmp_path: Path) -> AuditEnv:
    """The audit services with no chain (store, routing and timers only)."""
    return AuditEnv(sessions, Settings(data_dir=tmp_path))


# ---------------------------------------------------------------- the chain


@dataclass(frozen=True)
class Signer:
    address: str


def eth_tester_transact(w3: Web3):
    decoder = RevertDecoder(artifacts.all_abis().values())

    def transact(account: Any, fn: Any, purpose: str):
        sender = account.address
        try:
            fn.call({"from": sender})
        except REVERTS as exc:
            raise decoder.decode(revert_data(exc)) from None
        receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": 3_000_000}))
        assert receipt.status == 1, purpose
        block = w3.eth.get_block(receipt.blockNumber)
        return SimpleNamespace(tx_hash="0x" + bytes(receipt.transactionHash).hex(), block_number=receipt.blockNumber,
                               block_timestamp=block.timestamp, receipt=receipt)

    return transact


@pytest.fixture(scope="module")
def w3() -> Web3:
    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


@pytest.fixture(scope="module")
def people(w3: Web3) -> dict[str, str]:
    return subsidy_people(list(w3.eth.accounts))


@pytest.fixture(scope="module")
def contracts(w3: Web3, people: dict[str, str]) -> dict[str, Any]:
    registry = bootstrap_subsidy_registry(w3, people)
    deployed = deploy_subsidy(w3, registry, people)
    trail = deploy_contract(w3, "AuditTrail", registry.address, sender=people["admin"])
    return {"AllianceRegistry": registry, "AuditHolds": deployed["holds"], "SubsidyLedger": deployed["ledger"],
            "AuditTrail": trail}


@pytest.fixture
def chain(w3: Web3, contracts: dict[str, Any], people: dict[str, str]) -> Iterator[AuditChain]:
    """The audit chain; the gateway holds the commission's key (people["inspector"])."""
    snapshot = w3.testing.snapshot()
    yield AuditChain(w3, {k: v for k, v in contracts.items() if k != "SubsidyLedger"}, eth_tester_transact(w3),
                     lambda: Signer(people["inspector"]))
    w3.testing.revert(snapshot)


@pytest.fixture
def env(sessions, tmp_path: Path, chain: AuditChain) -> AuditEnv:
    return AuditEnv(sessions, Settings(data_dir=tmp_path), chain)


@pytest.fixture
def signer(people: dict[str, str]):
    return lambda who: Signer(people[who])


@pytest.fixture
def flow(w3: Web3, contracts: dict[str, Any], people: dict[str, str], chain) -> SubsidyFlow:
    return SubsidyFlow(w3, contracts["SubsidyLedger"], contracts["AuditHolds"], people)
