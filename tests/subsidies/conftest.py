"""Fixtures of the subsidy API tests: one gateway on eth-tester and SQLite for the whole session.

The alliance is the default one with more people, so that every rule can be exercised:

========================  =========================================================================
login (``sg.member(X)``)  who
========================  =========================================================================
``SCITECH-admin``         SCITECH governor, issuer, POLICY and reviewer (publishes the test policies)
``SCITECH-rev1..3``       SCITECH reviewers (the three review levels)
``SCITECH-clerk``         SCITECH reviewer without POLICY (may not publish)
``COMMERCE-admin``        POLICY and reviewer of another department
``MARKET-admin``          issues business licences; the registry's oracle (attests facts)
``APPROVAL-admin``        the service centre: its OPERATOR key files applications
``FINANCE-admin``         finance (no POLICY, no reviewer of SCITECH)
========================  =========================================================================

Helpers (``SubsidyGateway``): ``register`` attests an enterprise's registry facts (through the real
oracle ingest), ``licence`` issues a licence, ``enterprise`` makes an enterprise login, ``legal_basis``
stores a document, ``policy_body`` / ``publish`` build and publish a policy (window open for a year
from the chain's time, so that tests may move the chain's clock forward a few weeks), ``apply`` files
an application. Each test uses fresh USCCs and policies, so tests do not depend on each other.

``build_subsidy_gateway`` builds the same gateway on another database (the PostgreSQL test uses it).
Other test files of this folder (e.g. the notices / payouts ones) may use the ``sg`` fixture and
these helpers.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceSpec, load_alliance
from chain.db import make_engine, session_factory
from chain.keystore import DEPLOYER_ALIAS, Keyring, create_keystore
from chain.ledger import Ledger
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.services import users
from oracle import service as oracle_service
from oracle.uscc import complete
from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port, make_context, make_settings, migrated_database
from tests.gateway.helpers import PASSWORD, bearer

DAY = 86400
EXTRA_SCITECH = ('members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] },\n'
                 '           { name = "rev1", roles = ["reviewer"] }, { name = "rev2", roles = ["reviewer"] },\n'
                 '           { name = "rev3", roles = ["reviewer"] }, { name = "clerk", roles = ["reviewer"] }]')
SCITECH_LINE = 'members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] }]'
REGISTRY_HEADER = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
                   "registered_district,established\n")
_serial = itertools.count(1)


def new_uscc() -> str:
    """A fresh, valid unified social credit code."""
    return complete(f"91350102{random.randrange(10**9):09d}")


def subsidy_alliance(directory: Path) -> AllianceSpec:
    """The default alliance with SCITECH's extra reviewers and clerk (see the module docstring)."""
    text = DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8")
    sci = text.index('code = "SCITECH"')
    at = text.index(SCITECH_LINE, sci)
    path = directory / "alliance.toml"
    path.write_text(text[:at] + EXTRA_SCITECH + text[at + len(SCITECH_LINE):], encoding="utf-8")
    return load_alliance(path)


@dataclass
class SubsidyGateway:
    """The subsidy gateway under test: context, HTTP client, member logins and data helpers."""

    ctx: GatewayContext
    client: TestClient
    spec: AllianceSpec
    _tokens: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ logins

    def member(self, alias: str) -> dict[str, str]:
        """Authorization header of the member login ``alias`` (e.g. ``SCITECH-rev1``)."""
        if alias not in self._tokens:
            response = self.client.post("/auth/login", json={"username": alias.lower(), "password": PASSWORD})
            assert response.status_code == 200, response.text
            self._tokens[alias] = response.json()["token"]
        return bearer(self._tokens[alias])

    def address(self, alias: str) -> str:
        return self.ctx.ledger.keyring.account(alias).address

    def enterprise(self, uscc: str) -> dict[str, str]:
        """Authorization header of a new enterprise login for ``uscc``."""
        username = f"ent-{uuid.uuid4().hex[:12]}"
        users.create_user(self.ctx.sessions, username, PASSWORD, kind="enterprise", uscc=uscc, scrypt_n=FAST_SCRYPT)
        response = self.client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return bearer(response.json()["token"])

    # ------------------------------------------------------------------ data

    def now(self) -> int:
        return int(self.ctx.ledger.chain.w3.eth.get_block("latest")["timestamp"])

    def register(self, uscc: str | None = None, *, name: str = "福州测试科技有限公司", legal_representative: str = "张三",
                 capital_yuan: str = "5000000", address: str = "福州市鼓楼区五四路1号",
                 business_scope: str = "软件开发;信息技术咨询服务", status: str = "active",
                 established: str = "2015-06-01") -> str:
        """Attest an enterprise's registry entry through the oracle (as MARKET); return its USCC."""
        uscc = uscc or new_uscc()
        line = ",".join(f'"{v}"' for v in (uscc, name, legal_representative, capital_yuan, address, business_scope,
                                            status, "350102", established))
        report = oracle_service.ingest(self.ctx.ledger, self.ctx.hmac_key, (REGISTRY_HEADER + line + "\n").encode(),
                                       f"registry-{next(_serial)}.csv", data_type="ENTERPRISE_REGISTRY")
        assert report.attested == 1, report.as_dict()
        return uscc

    def licence(self, uscc: str, licence_type: str = "BUSINESS_LICENCE", holder_name: str = "福州测试科技有限公司"
                ) -> dict[str, Any]:
        """Issue a licence to ``uscc`` through the API (MARKET issues business licences, SCITECH high-tech)."""
        issuer = {"BUSINESS_LICENCE": "MARKET-admin", "HIGH_TECH_ENTERPRISE_CERTIFICATE": "SCITECH-admin",
                  "PATENT_CERTIFICATE": "IP-admin"}[licence_type]
        body = {"licence_type": licence_type, "number": f"L-{uuid.uuid4().hex[:12]}", "holder_uscc": uscc,
                "holder_name": holder_name, "valid_from": "2024-01-01", "valid_until": "2034-12-31"}
        response = self.client.post("/licences", json=body, headers=self.member(issuer))
        assert response.status_code == 201, response.text
        return response.json()["licence"]

    def upload(self, headers: dict[str, str], content: bytes | None = None) -> str:
        """Upload a document as the caller of ``headers``; return its SHA-256."""
        content = content or f"scan {uuid.uuid4()}".encode()
        response = self.client.post("/documents", files={"file": ("scan.pdf", content, "application/pdf")},
                                    headers=headers)
        assert response.status_code == 201, response.text
        return response.json()["sha256"]

    def legal_basis(self) -> str:
        return self.upload(self.member("SCITECH-admin"), f"政策文件 {uuid.uuid4()}".encode())

    def policy_body(self, **overrides: Any) -> dict[str, Any]:
        now = self.now()
        body: dict[str, Any] = {
            "title": f"高新技术企业奖励 {next(_serial)}", "legal_basis_sha256": self.legal_basis(),
            "budget_fen": 1_000_000_00, "cap_fen": 300_000_00, "opens_at": now - 60, "closes_at": now + 365 * DAY,
            "notice_workdays": 5, "payout_deadline_workdays": 15,
            "criteria": {"all": [{"fact": "status", "op": "==", "value": "active"},
                                 {"fact": "registered_capital_fen", "op": ">=", "value": 1_000_000_00}]},
            "amount_rule": {"kind": "requested"},
            "materials": [{"code": "business_licence", "name": "营业执照", "licence_types": ["BUSINESS_LICENCE"]},
                          {"code": "high_tech", "name": "高新技术企业证书",
                           "licence_types": ["HIGH_TECH_ENTERPRISE_CERTIFICATE"]},
                          {"code": "audit_report", "name": "审计报告", "licence_types": []}],
        }
        body.update(overrides)
        return body

    def publish(self, by: str = "SCITECH-admin", **overrides: Any) -> dict[str, Any]:
        response = self.client.post("/subsidies/policies", json=self.policy_body(**overrides), headers=self.member(by))
        assert response.status_code == 201, response.text
        return response.json()

    def applicant(self, high_tech: bool = True, **registry: Any) -> tuple[str, dict[str, str]]:
        """A registered enterprise holding a business licence and (unless ``high_tech`` is False) a
        high-tech enterprise certificate: (USCC, its login header)."""
        uscc = self.register(**registry)
        self.licence(uscc)
        if high_tech:
            self.licence(uscc, "HIGH_TECH_ENTERPRISE_CERTIFICATE")
        return uscc, self.enterprise(uscc)

    def apply(self, policy_id: str, headers: dict[str, str], requested_fen: int = 200_000_00,
              uploads: dict[str, str] | None = None, declared: dict[str, Any] | None = None) -> Any:
        body: dict[str, Any] = {"requested_fen": requested_fen, "uploads": uploads or {}}
        if declared is not None:
            body["declared"] = declared
        return self.client.post(f"/subsidies/policies/{policy_id}/applications", json=body, headers=headers)

    def applied(self, policy_id: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        """Apply with an uploaded audit report; assert it was filed; return the application."""
        uploads = kwargs.pop("uploads", None) or {"audit_report": self.upload(headers)}
        response = self.apply(policy_id, headers, uploads=uploads, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()

    def mine(self) -> None:
        """Mine an empty block (eth-tester mines only on transactions)."""
        self.ctx.ledger.chain.w3.testing.mine(1)

    def draw(self, policy_id: str, picks: int, by: str = "SCITECH-admin", **extra: Any) -> dict[str, Any]:
        """Request a draw (the gateway mines a block on eth-tester and executes it); return it."""
        response = self.client.post("/subsidies/draws", json={"policy_id": policy_id, "picks": picks, **extra},
                                    headers=self.member(by))
        assert response.status_code == 201, response.text
        draw = response.json()
        assert draw["status"] == "executed", draw
        return draw

    def requested_draw(self, policy_id: str, picks: int, by: str = "SCITECH-admin") -> dict[str, Any]:
        """Request a draw on a chain where no block follows by itself (as on Besu between two blocks):
        the draw stays ``requested``."""
        from dataclasses import replace

        settings = self.ctx.settings
        self.ctx.settings = replace(settings, subsidies=replace(settings.subsidies, draw_mine_block="never"))
        try:
            response = self.client.post("/subsidies/draws", json={"policy_id": policy_id, "picks": picks},
                                        headers=self.member(by))
        finally:
            self.ctx.settings = settings
        assert response.status_code == 201, response.text
        draw = response.json()
        assert draw["status"] == "requested" and draw["seed"] is None, draw
        return draw

    def time_travel(self, seconds: int) -> None:
        w3 = self.ctx.ledger.chain.w3
        w3.testing.timeTravel(self.now() + seconds)
        w3.testing.mine(1)


def build_subsidy_gateway(database_url: str, data_dir: Path, rpc_url: str = "memory://") -> Iterator[SubsidyGateway]:
    """Deploy and bootstrap the subsidy alliance on eth-tester (or the node at ``rpc_url``) over
    ``database_url``; yield its gateway."""
    spec = subsidy_alliance(data_dir)
    keys = data_dir / "keystore-test"
    keys.mkdir()
    for alias in [DEPLOYER_ALIAS] + [m.alias for m in spec.members]:
        create_keystore(keys, alias, PASSPHRASE, FAST_SCRYPT)
    keyring = Keyring.unlock(keys, PASSPHRASE)
    settings = make_settings(data_dir, database_url, rpc_url=rpc_url)
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    ledger = Ledger.open(settings, spec, keyring, sessions)
    ledger.ensure_deployed()
    ledger.bootstrap()
    ctx = make_context(settings, ledger)
    for member in spec.members:
        users.create_user(sessions, member.alias.lower(), PASSWORD, kind="member",
                          member_address=keyring.account(member.alias).address, scrypt_n=FAST_SCRYPT)
    with TestClient(create_app(ctx)) as client:
        yield SubsidyGateway(ctx=ctx, client=client, spec=spec)
    ledger.close()
    engine.dispose()


def subsidy_gateway_on_anvil(directory: Path) -> Iterator[SubsidyGateway]:
    """``build_subsidy_gateway`` over a SQLite file in ``directory`` and a real anvil node of its own (the
    embedded node `alliance up` runs), stopped when the gateway is done with."""
    from chain.config import NodeSettings
    from chain.node import AnvilNode
    from gateway import db

    node = AnvilNode(NodeSettings(port=free_port()), directory / "node")
    node.start()
    url = f"sqlite:///{directory / 'gateway.db'}"
    db.upgrade(url)
    try:
        yield from build_subsidy_gateway(url, directory, rpc_url=node.url)
    finally:
        node.stop()


@pytest.fixture(scope="session", params=["sqlite"])
def subsidy_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from migrated_database(request, tmp_path_factory.mktemp("subsidies-db"))


@pytest.fixture(scope="session")
def sg(subsidy_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    """The subsidy gateway on eth-tester and SQLite, shared by the session."""
    yield from build_subsidy_gateway(subsidy_database_url, tmp_path_factory.mktemp("subsidies"))
