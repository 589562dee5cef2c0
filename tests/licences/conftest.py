"""One licence/document gateway per database backend (SQLite and PostgreSQL) over one bootstrapped
eth-tester ledger, shared by every test in this folder: deploying and bootstrapping costs a few
seconds, so it is done once per backend. Every test issues licences with fresh numbers and holders,
so tests do not depend on each other's order.

The documents' size limit is set to 64 KiB so that the oversize refusals are cheap to provoke."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chain.alliance import AllianceSpec
from chain.db import make_engine, session_factory
from chain.keystore import Keyring
from chain.ledger import Ledger
from gateway.app import create_app
from gateway.services import users
from tests.conftest import FAST_SCRYPT, migrated_database, make_context, make_settings
from tests.licences.helpers import MAX_BYTES, PASSWORD, LicenceGateway


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def licences_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the licence tests of one backend."""
    yield from migrated_database(request, tmp_path_factory.mktemp(f"licences-{request.param}"))


@pytest.fixture(scope="session")
def lg(licences_database_url: str, tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec,
       keyring: Keyring) -> Iterator[LicenceGateway]:
    backend = "sqlite" if licences_database_url.startswith("sqlite") else "postgres"
    data_dir: Path = tmp_path_factory.mktemp(f"licences-{backend}")
    settings = make_settings(data_dir, licences_database_url)
    settings = replace(settings, documents=replace(settings.documents, max_bytes=MAX_BYTES))
    engine = make_engine(licences_database_url)
    sessions = session_factory(engine)
    ledger = Ledger.open(settings, alliance_spec, keyring, sessions)
    ledger.ensure_deployed()
    ledger.bootstrap()
    ctx = make_context(settings, ledger)
    usernames = {}
    for member in alliance_spec.members:
        username = member.alias.lower()
        users.create_user(sessions, username, PASSWORD, kind="member",
                          member_address=keyring.account(member.alias).address, scrypt_n=FAST_SCRYPT)
        usernames[member.department] = username
    with TestClient(create_app(ctx)) as client:
        yield LicenceGateway(backend=backend, ctx=ctx, client=client, usernames=usernames)
    ledger.close()
    engine.dispose()
