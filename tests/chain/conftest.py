"""Fixtures for the chain-layer tests: real anvil nodes with a deployed and bootstrapped alliance.

Deploying and bootstrapping the default alliance (14 departments, 40 transactions) takes a
couple of seconds, so it is done once per session into a *template* data directory (anvil state
file, deployment manifest, SQLite journal). Each test gets its own copy of that directory and its
own anvil process on a free port, so tests never share chain or journal state.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chain.alliance import AllianceSpec
from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.keystore import Keyring
from chain.ledger import Ledger
from chain.node import AnvilNode
from tests.chain.chain_support import ChainEnv, Template, anvil_available, free_port, make_settings, sqlite_url_in
from gateway import db as gateway_db


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec, keyring: Keyring) -> Template:
    if not anvil_available():
        pytest.skip("anvil binary not installed (make setup)")
    data = tmp_path_factory.mktemp("template") / "data"
    node = AnvilNode(NodeSettings(port=free_port()), data / "node")
    url = sqlite_url_in(data)
    node.start()
    try:
        gateway_db.upgrade(url)
        engine = make_engine(url)
        ledger = Ledger.open(make_settings(data, url, rpc_url=node.url), alliance_spec, keyring,
                             session_factory(engine))
        assert ledger.chain.kind == "anvil"
        assert ledger.ensure_deployed() is True
        report = ledger.bootstrap()
        head = ledger.chain.head()
        record = ledger.manifest.contracts["AllianceRegistry"]
        ledger.close()
        engine.dispose()
    finally:
        node.stop()  # SIGTERM: anvil dumps its state file
    return Template(data_dir=data, report=report, head=head, deploy_block=record.block_number,
                    registry=record.address)


@pytest.fixture
def start_env(tmp_path: Path, template: Template, alliance_spec: AllianceSpec,
              keyring: Keyring) -> Iterator[Callable[..., ChainEnv]]:
    """``start_env(database_url=None)``: a copy of the bootstrapped template on a new anvil node.

    With ``database_url`` the journal and index live there (empty) instead of in the copied
    SQLite file that holds the bootstrap's journal.
    """
    started: list[ChainEnv] = []

    def start(database_url: str | None = None) -> ChainEnv:
        data = tmp_path / f"data{len(started)}"
        shutil.copytree(template.data_dir, data)
        url = database_url or sqlite_url_in(data)
        node = AnvilNode(NodeSettings(port=free_port()), data / "node")
        node.start()
        engine = make_engine(url)
        sessions = session_factory(engine)
        env = ChainEnv(node=node, ledger=None, sessions=sessions, engine=engine, database_url=url,  # type: ignore[arg-type]
                       data_dir=data)
        started.append(env)
        env.ledger = Ledger.open(make_settings(data, url, rpc_url=node.url), alliance_spec, keyring, sessions)
        assert env.ledger.manifest is not None, "the copied deployment manifest was not attached"
        return env

    yield start
    for env in started:
        if env.ledger is not None:
            env.ledger.close()
        env.node.stop()
        env.engine.dispose()


@pytest.fixture
def env(start_env: Callable[..., ChainEnv]) -> ChainEnv:
    """A sealed default alliance on its own anvil node, journal in SQLite."""
    return start_env()
