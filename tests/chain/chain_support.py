"""Helpers shared by tests/chain/conftest.py and the chain test modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from chain.bootstrap import BootstrapReport
from chain.journal import JournalEntry
from chain.ledger import Ledger
from chain.node import AnvilNode, find_anvil
from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port, make_settings  # noqa: F401 - re-exported


def anvil_available() -> bool:
    try:
        return find_anvil().exists()
    except Exception:
        return False


requires_anvil = pytest.mark.skipif(not anvil_available(), reason="anvil binary not installed (make setup)")


def sqlite_url_in(directory: Path) -> str:
    return f"sqlite:///{directory / 'gateway.db'}"


@dataclass
class Template:
    """A data directory holding a sealed default alliance on an (stopped) anvil node."""

    data_dir: Path
    report: BootstrapReport
    head: int
    deploy_block: int
    registry: str


@dataclass
class ChainEnv:
    """One running anvil node with its ledger (journal, transaction manager, indexer)."""

    node: AnvilNode
    ledger: Ledger
    sessions: sessionmaker[Session]
    engine: Engine
    database_url: str
    data_dir: Path

    @property
    def w3(self) -> Any:
        return self.ledger.chain.w3

    @property
    def registry(self) -> Any:
        return self.ledger.registry

    def journal(self, account: str | None = None) -> list[JournalEntry]:
        with self.sessions() as s:
            q = select(JournalEntry).where(JournalEntry.chain_id == self.ledger.chain.chain_id)
            if account is not None:
                q = q.where(JournalEntry.account == account)
            return list(s.scalars(q.order_by(JournalEntry.id)))

    def rpc(self, method: str, *params: Any) -> Any:
        return self.ledger.chain.rpc(method, list(params))
