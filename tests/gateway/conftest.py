"""One gateway per database backend (SQLite and PostgreSQL) over one bootstrapped eth-tester ledger,
shared by every gateway test of the session: deploying and bootstrapping costs ~4 s, so it is done
once per backend. Tests that change the alliance use fresh random accounts so that they do not
depend on each other's order."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.gateway.helpers import PASSWORD, Gateway


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def gateway_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the gateway tests of one backend."""
    yield from migrated_database(request, tmp_path_factory.mktemp(f"gateway-{request.param}"))


@pytest.fixture(scope="session")
def gw(gateway_database_url: str, tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec,
       keyring: Keyring) -> Iterator[Gateway]:
    backend = "sqlite" if gateway_database_url.startswith("sqlite") else "postgres"
    data_dir: Path = tmp_path_factory.mktemp(f"gateway-{backend}")
    settings = make_settings(data_dir, gateway_database_url)
    engine = make_engine(gateway_database_url)
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
        yield Gateway(backend=backend, ctx=ctx, client=client, usernames=usernames)
    ledger.close()
    engine.dispose()
