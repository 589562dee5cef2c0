"""Helpers for the chain-layer tests (imported by tests/chain/conftest.py and the test modules): real anvil nodes with a deployed and bootstrapped alliance.

Deploying and bootstrapping the default alliance (14 departments, 36 transactions) takes a
couple of seconds, so it is done once per session into a *template* data directory (anvil state
file, deployment manifest, SQLite journal). Each test gets its own copy of that directory and its
own anvil process on a free port, so tests never share chain or journal state.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from chain.alliance import AllianceSpec
from chain.bootstrap import BootstrapReport
from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.journal import JournalEntry
from chain.keystore import Keyring
from chain.ledger import Ledger
from chain.node import AnvilNode, find_anvil
from gateway import db as gateway_db

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
