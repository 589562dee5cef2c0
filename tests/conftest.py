"""Shared fixtures: keystores, databases (SQLite and the PostgreSQL at 127.0.0.1:5432),
an in-process eth-tester ledger, and real anvil nodes on free loopback ports."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceSpec, load_alliance
from chain.config import ChainSettings, NodeSettings, Settings
from chain.db import make_engine, session_factory
from chain.keystore import DEPLOYER_ALIAS, Keyring, create_keystore
from gateway import db as gateway_db

PASSPHRASE = "test-passphrase"
PG_ADMIN_URL = os.environ.get("ALLIANCE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FAST_SCRYPT = 2**10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def alliance_spec() -> AllianceSpec:
    return load_alliance(DEFAULT_ALLIANCE_FILE)


@pytest.fixture(scope="session")
def keystore_dir(tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec) -> Path:
    """Encrypted keystores for the deployer and every member of the default alliance."""
    directory = tmp_path_factory.mktemp("keystore")
    for alias in [DEPLOYER_ALIAS] + [m.alias for m in alliance_spec.members]:
        create_keystore(directory, alias, PASSPHRASE, FAST_SCRYPT)
    return directory


@pytest.fixture(scope="session")
def keyring(keystore_dir: Path) -> Keyring:
    return Keyring.unlock(keystore_dir, PASSPHRASE)


@pytest.fixture(scope="session")
def pg_server() -> str:
    if not postgres_available():
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


def _fresh_pg_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    name = f"alliance_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def migrated_database(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A new, migrated database for ``request.param``: SQLite in ``directory``, or a fresh database on
    the PostgreSQL server (the test skips, saying why, where none answers); dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'gateway.db'}"
        gateway_db.upgrade(url)
        yield url
        return
    url, drop = _fresh_pg_database(request.getfixturevalue("pg_server"))
    gateway_db.upgrade(url)
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, migrated database: SQLite in a temp dir, and the same on PostgreSQL."""
    yield from migrated_database(request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    gateway_db.upgrade(url)
    return url


def make_settings(data_dir: Path, database_url: str, rpc_url: str = "memory://", node_port: int = 8545,
                  gateway_port: int = 8645) -> Settings:
    settings = Settings(data_dir=data_dir, database_url=database_url,
                        chain=ChainSettings(rpc_url=rpc_url, keystore_scrypt_n=FAST_SCRYPT, receipt_timeout=20.0,
                                            indexer_poll_seconds=0.1),
                        node=NodeSettings(port=node_port, state_interval=1))
    return replace(settings, gateway=replace(settings.gateway, port=gateway_port, password_scrypt_n=FAST_SCRYPT))


@pytest.fixture
def sessions_for() -> Callable[[str], object]:
    return lambda url: session_factory(make_engine(url))


def make_context(settings: Settings, ledger):
    """The gateway context the product builds at start (token key, vault, batcher, HMAC key),
    with the key files created in ``settings.data_dir`` under the test passphrase."""
    from gateway.auth.tokens import generate_signing_key, save_signing_key
    from gateway.runtime import build_context

    if not settings.token_key_file.exists():
        settings.token_key_file.parent.mkdir(parents=True, exist_ok=True)
        save_signing_key(generate_signing_key(), settings.token_key_file, PASSPHRASE)
    return build_context(settings, ledger, PASSPHRASE)
