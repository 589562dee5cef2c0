"""A subsidy application across two department gateways on one chain (issue 8, point 2).

MARKET's gateway issues a business licence (营业执照); SCITECH's gateway — a policy department —
publishes a policy, files an enterprise's application, verifies the MARKET licence from the chain
alone and reviews the application at three levels with three of its own reviewers. Each gateway is a
real `alliance up` process holding only its own department's keys and its own database (SCITECH's
on SQLite and on PostgreSQL), sharing one anvil node reached over plain JSON-RPC and started by no
gateway, as a remote Besu validator would be. Neither signs for the other: a gateway refuses to act
for a member whose key it does not hold (403 ``key_not_held``), and the chain refuses a member of
one department acting on the other's policy or licence.

The alliance file differs from the default in SCITECH's members: three more reviewers (the contract
wants a different reviewer per level) and a ``window`` member holding OPERATOR — applications are
filed on chain by the serving gateway's OPERATOR key, which in the default alliance only APPROVAL
(the service centre) holds; here SCITECH's gateway is the window for its own policy.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError

from chain import artifacts
from chain.alliance import DEFAULT_ALLIANCE_FILE, load_alliance
from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.errors import ContractRevert, RevertDecoder
from chain.node import AnvilNode
from gateway.services.users import create_user
from oracle.uscc import complete
from tests.conftest import (FAST_SCRYPT, PASSPHRASE, PG_ADMIN_URL, _fresh_pg_database, free_port,
                            postgres_available)
from tests.integration.conftest import login
from tests.multigateway.conftest import REMOTE_CHAIN_ID, Gateway

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

PASSWORD = "login-password-1"
DAY = 86400
SCITECH_MEMBERS = 'members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] }]'
SCITECH_MORE = ('members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] },\n'
                '           { name = "window", roles = ["operator"] },\n'
                '           { name = "rev1", roles = ["reviewer"] }, { name = "rev2", roles = ["reviewer"] },\n'
                '           { name = "rev3", roles = ["reviewer"] }]')
SCITECH_ROLES = 'roles = ["governor", "issuer", "policy", "reviewer"]'
SCITECH_ROLES_MORE = 'roles = ["governor", "issuer", "policy", "reviewer", "operator"]'
OPINION = {1: "营业执照经链上核验有效，材料齐全。", 2: "复审同意。", 3: "同意拨付15万元。"}


def _alliance_text() -> str:
    """The default alliance with SCITECH's reviewers and service window (see the module docstring)."""
    text = DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8")
    start = text.index('code = "SCITECH"')
    end = text.index("[[departments]]", start)
    block = text[start:end]
    assert SCITECH_ROLES in block and SCITECH_MEMBERS in block
    block = block.replace(SCITECH_MEMBERS, SCITECH_MORE).replace(SCITECH_ROLES, SCITECH_ROLES_MORE, 1)
    return text[:start] + block + text[end:]


def _error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _together(*calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _exported(text: str) -> dict[str, str]:
    return {k.strip(): v.strip().strip('"') for k, v in (line.split("=", 1) for line in text.splitlines()
                                                         if line.strip() and not line.startswith("#"))}


@dataclass
class Alliance:
    """Two running department gateways on one chain, and what the tests need to drive them."""

    market: Gateway
    scitech: Gateway
    scitech_db: str  # SQLAlchemy URL of SCITECH's database
    address: dict[str, str]  # member alias -> address
    w3: Web3
    contracts: dict[str, str]  # contract name -> address
    serial: int = 0

    def add_login(self, gateway: Gateway, username: str, *, member: str | None = None,
                  uscc: str | None = None) -> dict[str, str]:
        """A login on ``gateway`` (naming ``member``'s account or the enterprise ``uscc``); its header."""
        url = self.scitech_db if gateway is self.scitech else f"sqlite:///{gateway.data_dir / 'gateway.db'}"
        engine = make_engine(url)
        try:
            create_user(session_factory(engine), username, PASSWORD, kind="member" if member else "enterprise",
                        member_address=self.address[member] if member else None, uscc=uscc, scrypt_n=FAST_SCRYPT)
        finally:
            engine.dispose()
        return login(gateway, username)

    def contract(self, name: str):
        return self.w3.eth.contract(address=self.contracts[name], abi=artifacts.load(name).abi)

    def refusal(self, fn, sender: str) -> ContractRevert:
        """The contract's own error when ``sender`` would send ``fn`` (an eth_call: nothing is signed)."""
        try:
            fn.call({"from": sender})
        except ContractLogicError as exc:
            abis = [artifacts.load(n).abi for n in self.contracts]
            return RevertDecoder(abis).decode(exc.data)
        raise AssertionError(f"{sender} was not refused")

    def chain_now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def next_uscc(self) -> str:
        self.serial += 1
        return complete(f"91350102{os.getpid() % 1000:03d}{self.serial:06d}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def alliance(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alliance]:
    """MARKET's and SCITECH's gateways up on one anvil node; SCITECH's database on SQLite or PostgreSQL."""
    drop = None
    scitech_db = ""
    if request.param == "postgres":
        if not postgres_available():
            pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
        scitech_db, drop = _fresh_pg_database(PG_ADMIN_URL)
    root = tmp_path_factory.mktemp(f"subsidy-across-{request.param}")
    node = AnvilNode(NodeSettings(port=free_port(), chain_id=REMOTE_CHAIN_ID), root / "remote-node")
    node.start()
    env = {**os.environ, "ALLIANCE_PASSPHRASE": PASSPHRASE, "ALLIANCE_USER_PASSWORD": PASSWORD}
    market, scitech, operator = (Gateway(data_dir=root / name, node_port=0, gateway_port=free_port(), env=env)
                                 for name in ("market", "scitech", "operator"))
    try:
        alliance_file = root / "alliance.toml"
        alliance_file.write_text(_alliance_text(), encoding="utf-8")
        spec = load_alliance(alliance_file)
        secret = root / "alliance-secret.hex"
        secret.write_text(os.urandom(32).hex() + "\n")
        secret.chmod(0o600)
        shared = ("--alliance", str(alliance_file), "--alliance-secret-file", str(secret), "--rpc-url", node.url,
                  "--scrypt-n", str(FAST_SCRYPT))
        db_args = ("--database-url", scitech_db) if scitech_db else ()
        _together(lambda: operator.cli("init", "--deployer-only", *shared),
                  lambda: market.cli("init", "--department", "MARKET", "--gateway-port", str(market.gateway_port),
                                     *shared),
                  lambda: scitech.cli("init", "--department", "SCITECH", "--gateway-port",
                                      str(scitech.gateway_port), *db_args, *shared))
        exported = "".join(r.stdout for r in _together(lambda: market.cli("members", "export"),
                                                       lambda: scitech.cli("members", "export")))
        address = _exported(exported)
        assert set(address) == {"MARKET-admin", "SCITECH-admin", "SCITECH-window", "SCITECH-rev1", "SCITECH-rev2",
                                "SCITECH-rev3"}
        elsewhere = "".join(f'{m.alias} = "{Account.create().address}"\n' for m in spec.members
                            if m.department not in ("MARKET", "SCITECH"))
        (operator.data_dir / "alliance.toml").write_text(
            alliance_file.read_text(encoding="utf-8") + "\n[addresses]\n" + exported + elsewhere, encoding="utf-8")
        manifest = Path(json.loads(operator.cli("deploy", "--json").stdout)["manifest"])
        _together(lambda: market.cli("deploy", "--join", str(manifest), "--json"),
                  lambda: scitech.cli("deploy", "--join", str(manifest), "--json"))
        _together(market.up, scitech.up)
        for gateway, keys in ((market, {"MARKET-admin"}),
                              (scitech, {"SCITECH-admin", "SCITECH-window", "SCITECH-rev1", "SCITECH-rev2",
                                         "SCITECH-rev3"})):
            held = {p.stem for p in (gateway.data_dir / "keystore").glob("*.json")}
            assert held == keys  # each gateway holds its own department's keys only
        contracts = {n: c["address"] for n, c in json.loads(manifest.read_text())["contracts"].items()}
        yield Alliance(market=market, scitech=scitech, scitech_db=scitech_db
                       or f"sqlite:///{scitech.data_dir / 'gateway.db'}", address=address,
                       w3=Web3(HTTPProvider(node.url)), contracts=contracts)
    finally:
        for gateway in (market, scitech, operator):
            gateway.stop()
        node.stop()
        if drop is not None:
            drop()


def _issue_business_licence(a: Alliance, headers: dict[str, str], uscc: str, name: str) -> dict:
    body = {"licence_type": "BUSINESS_LICENCE", "number": f"MKT-{uscc[-8:]}", "holder_uscc": uscc,
            "holder_name": name, "valid_from": "2024-01-01", "valid_until": "2034-12-31"}
    r = requests.post(a.market.url + "/licences", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def _upload(gateway: Gateway, headers: dict[str, str], content: bytes) -> str:
    r = requests.post(gateway.url + "/documents", files={"file": ("scan.pdf", content, "application/pdf")},
                      headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["sha256"]


def _publish(a: Alliance, headers: dict[str, str], materials: list[dict]) -> dict:
    now = a.chain_now()
    body = {"title": f"科技型企业研发奖励 {now}", "legal_basis_sha256": _upload(a.scitech, headers, f"政策文件 {now}".encode()),
            "budget_fen": 1_000_000_00, "cap_fen": 300_000_00, "opens_at": now - 60, "closes_at": now + 365 * DAY,
            "notice_workdays": 5, "payout_deadline_workdays": 15, "criteria": {"all": []},
            "amount_rule": {"kind": "requested"}, "materials": materials}
    r = requests.post(a.scitech.url + "/subsidies/policies", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


BUSINESS_LICENCE_MATERIAL = {"code": "business_licence", "name": "营业执照", "licence_types": ["BUSINESS_LICENCE"]}


def test_scitech_reviews_an_application_against_a_market_licence_and_neither_signs_for_the_other(
        alliance: Alliance) -> None:
    a = alliance
    uscc, name = a.next_uscc(), "福州跨局科技有限公司"
    as_market = a.add_login(a.market, "market", member="MARKET-admin")
    as_sci = {alias: a.add_login(a.scitech, alias.lower(), member=alias)
              for alias in ("SCITECH-admin", "SCITECH-rev1", "SCITECH-rev2", "SCITECH-rev3")}
    scitech_on_market = a.add_login(a.market, "rev1-on-market", member="SCITECH-rev1")
    market_on_scitech = a.add_login(a.scitech, "market-on-scitech", member="MARKET-admin")

    # -- MARKET issues the business licence; the enterprise holds its document
    issued = _issue_business_licence(a, as_market, uscc, name)
    lid, document = issued["licence"]["id"], issued["document"]

    # -- SCITECH publishes a policy (its own high-tech certificate stands in for one material, an audit report
    #    is uploaded) and issues the certificate; the enterprise applies on SCITECH's gateway
    policy = _publish(a, as_sci["SCITECH-admin"], [
        {"code": "high_tech", "name": "高新技术企业证书", "licence_types": ["HIGH_TECH_ENTERPRISE_CERTIFICATE"]},
        {"code": "audit_report", "name": "审计报告", "licence_types": []}])
    assert policy["department"] == "SCITECH", policy
    r = requests.post(a.scitech.url + "/licences", headers=as_sci["SCITECH-admin"], timeout=30, json={
        "licence_type": "HIGH_TECH_ENTERPRISE_CERTIFICATE", "number": f"GR-{uscc[-8:]}", "holder_uscc": uscc,
        "holder_name": name, "valid_from": "2024-01-01", "valid_until": "2034-12-31"})
    assert r.status_code == 201, r.text
    high_tech_id = r.json()["licence"]["id"]
    enterprise = a.add_login(a.scitech, f"ent-{uscc[-6:]}", uscc=uscc)
    declared = {"name": name, "legal_representative": "陈一", "registered_capital_fen": 5_000_000_00,
                "address": "福州市鼓楼区五四路1号", "business_scope": "软件开发"}
    r = requests.post(a.scitech.url + f"/subsidies/policies/{policy['id']}/applications", headers=enterprise,
                      timeout=60, json={"requested_fen": 200_000_00, "declared": declared,
                                        "uploads": {"audit_report": _upload(a.scitech, enterprise, b"audit 2025")}})
    assert r.status_code == 201, r.text
    app = r.json()
    # SCITECH's database holds no registry attestation of the enterprise: its declared fields cannot be
    # auto-verified, so people review it
    assert app["status"] == "submitted" and app["path"] == "manual", app
    assert app["materials"] == {"required": 2, "by_licence": 1, "uploaded": 1, "saved_ratio": 0.5}
    items = {m["code"]: m for m in app["material_items"]}
    assert items["high_tech"]["satisfied_by"] == "licence" and items["high_tech"]["licence_id"] == high_tech_id
    assert items["audit_report"]["satisfied_by"] == "upload"
    assert a.w3.eth.get_transaction(app["tx_hash"])["from"] == a.address["SCITECH-window"]
    saved = requests.get(a.scitech.url + "/subsidies/materials/saved", params={"policy_id": policy["id"]},
                         headers=as_sci["SCITECH-rev1"], timeout=10).json()
    assert (saved["materials_required"], saved["materials_by_licence"], saved["materials_uploaded"]) == (2, 1, 1)

    # -- the reviewer verifies the MARKET licence the enterprise presents, from the chain alone
    verdict = requests.post(a.scitech.url + "/verify/licence", json=document, timeout=10).json()
    assert verdict["status"] == "VALID", verdict
    assert requests.get(a.scitech.url + f"/licences/{lid}/status", timeout=10).json()["valid"] is True

    # -- neither signs for the other
    aid = app["id"]
    review_body = {"level": 1, "passed": True, "amount_fen": 150_000_00, "opinion": OPINION[1]}
    r = requests.post(a.market.url + f"/subsidies/applications/{aid}/reviews", json=review_body,
                      headers=scitech_on_market, timeout=30)
    assert _error(r, 403)["code"] == "key_not_held"  # MARKET's gateway holds no SCITECH reviewer's key
    r = requests.post(a.scitech.url + f"/subsidies/applications/{aid}/reviews", json=review_body,
                      headers=market_on_scitech, timeout=30)
    assert _error(r, 403)["code"] == "key_not_held"  # nor SCITECH's gateway MARKET's (a reviewer in MARKET)
    r = requests.post(a.scitech.url + f"/licences/{lid}/revoke", json={"reason_code": 3}, headers=market_on_scitech,
                      timeout=30)
    assert _error(r, 403)["code"] == "key_not_held"
    ledger, registry = a.contract("SubsidyLedger").functions, a.contract("LicenceRegistry").functions
    aid32, lid32 = bytes.fromhex(aid[2:]), bytes.fromhex(lid[2:])
    # and the chain itself refuses each department acting on the other's policy or licence
    assert a.refusal(ledger.review(aid32, 1, True, 150_000_00, b"\x01" * 32),
                     a.address["MARKET-admin"]).error == "NotPolicyDepartment"
    assert a.refusal(registry.revoke(lid32, 3), a.address["SCITECH-admin"]).error == "NotIssuingDepartment"
    assert ledger.reviewerOf(aid32, 1).call() == "0x" + "00" * 20  # nothing was recorded by the refusals

    # -- SCITECH's three reviewers review it, each level signed by its own key
    for level in (1, 2, 3):
        reviewer = f"SCITECH-rev{level}"
        r = requests.post(a.scitech.url + f"/subsidies/applications/{aid}/reviews", headers=as_sci[reviewer],
                          timeout=60, json={**review_body, "level": level, "opinion": OPINION[level]})
        assert r.status_code == 201, r.text
        assert a.w3.eth.get_transaction(r.json()["reviews"][-1]["tx_hash"])["from"] == a.address[reviewer]
    done = r.json()
    assert done["status"] == "approved" and done["approved_fen"] == 150_000_00
    assert done["decided_by"] == a.address["SCITECH-rev3"] and [x["level"] for x in done["reviews"]] == [1, 2, 3]
    assert [ledger.reviewerOf(aid32, n).call() for n in (1, 2, 3)] == [a.address[f"SCITECH-rev{n}"] for n in (1, 2, 3)]
    got = requests.get(a.scitech.url + f"/subsidies/applications/{aid}", headers=as_sci["SCITECH-admin"],
                       timeout=10).json()
    assert got["chain_status"] == "approved"
    assert got["record_consistency"] == {"consistent": True, "differences": []}

    # -- MARKET revokes; SCITECH's reviewers see it on the next check of the document
    r = requests.post(a.market.url + f"/licences/{lid}/revoke", json={"reason_code": 7}, headers=as_market, timeout=30)
    assert r.status_code == 200, r.text
    after = requests.post(a.scitech.url + "/verify/licence", json=document, timeout=10).json()
    assert after["status"] == "INVALID", after
    assert requests.get(a.scitech.url + f"/licences/{lid}/status", timeout=10).json()["status"] == "revoked"


def test_a_market_licence_stands_in_for_a_material_on_scitechs_gateway(alliance: Alliance) -> None:
    a = alliance
    uscc, name = a.next_uscc(), "福州减材科技有限公司"
    as_market = a.add_login(a.market, f"market-{uscc[-6:]}", member="MARKET-admin")
    as_policy = a.add_login(a.scitech, f"sci-{uscc[-6:]}", member="SCITECH-admin")
    lid = _issue_business_licence(a, as_market, uscc, name)["licence"]["id"]
    policy = _publish(a, as_policy, [BUSINESS_LICENCE_MATERIAL])
    enterprise = a.add_login(a.scitech, f"ent-{uscc[-6:]}", uscc=uscc)

    def business_licence() -> dict:
        r = requests.get(a.scitech.url + f"/subsidies/policies/{policy['id']}/prefill", headers=enterprise, timeout=30)
        assert r.status_code == 200, r.text
        return {m["code"]: m for m in r.json()["materials"]}["business_licence"]

    assert requests.get(a.scitech.url + f"/licences/{lid}/status", timeout=10).json()["valid"] is True  # on chain
    before = business_licence()
    assert before["satisfied_by"] == "licence" and before["licence_id"] == lid, before
    assert before["licence_issuer"] == "MARKET" and before["licence_number"] is None  # the number stays with MARKET
    pre = requests.get(a.scitech.url + f"/subsidies/policies/{policy['id']}/prefill", headers=enterprise,
                       timeout=30).json()
    (shown,) = pre["licences"]
    assert shown["source"] == "chain" and shown["issuer_department"] == "MARKET" and "MARKET" in shown[
        "off_chain_fields"]
    assert pre["licence_discovery"]["head_block"] >= pre["licence_discovery"]["indexed_to_block"] > 0
    r = requests.post(a.market.url + f"/licences/{lid}/revoke", json={"reason_code": 7}, headers=as_market, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10  # SCITECH's view follows the chain
    while business_licence()["satisfied_by"] != "needs_upload" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert business_licence()["satisfied_by"] == "needs_upload"


def test_a_market_revocation_after_filing_shows_on_scitechs_application_and_blocks_its_sign_off(
        alliance: Alliance) -> None:
    a = alliance
    uscc, name = a.next_uscc(), "福州吊销跨局有限公司"
    as_market = a.add_login(a.market, f"market-{uscc[-6:]}", member="MARKET-admin")
    as_sci = {alias: a.add_login(a.scitech, f"{alias.lower()}-{uscc[-6:]}", member=alias)
              for alias in ("SCITECH-admin", "SCITECH-rev1", "SCITECH-rev2", "SCITECH-rev3")}
    lid = _issue_business_licence(a, as_market, uscc, name)["licence"]["id"]
    policy = _publish(a, as_sci["SCITECH-admin"], [BUSINESS_LICENCE_MATERIAL])
    enterprise = a.add_login(a.scitech, f"ent-{uscc[-6:]}", uscc=uscc)
    declared = {"name": name, "legal_representative": "林二", "registered_capital_fen": 1_000_000_00,
                "address": "福州市仓山区1号", "business_scope": "软件开发"}
    r = requests.post(a.scitech.url + f"/subsidies/policies/{policy['id']}/applications", headers=enterprise,
                      timeout=60, json={"requested_fen": 100_000_00, "declared": declared, "uploads": {}})
    assert r.status_code == 201, r.text
    app = r.json()
    (item,) = app["material_items"]
    assert item["satisfied_by"] == "licence" and item["licence_id"] == lid and item["satisfied"] is True, item
    assert app["materials"]["by_licence"] == 1 and app["status"] == "submitted"

    body = {"passed": True, "amount_fen": 80_000_00, "opinion": "同意。"}
    for level in (1, 2):
        r = requests.post(a.scitech.url + f"/subsidies/applications/{app['id']}/reviews", headers=as_sci[
            f"SCITECH-rev{level}"], timeout=60, json={**body, "level": level})
        assert r.status_code == 201, r.text

    # -- MARKET revokes on its own gateway; SCITECH's application shows it at the next read
    r = requests.post(a.market.url + f"/licences/{lid}/revoke", json={"reason_code": 7}, headers=as_market, timeout=30)
    assert r.status_code == 200, r.text
    got = requests.get(a.scitech.url + f"/subsidies/applications/{app['id']}", headers=as_sci["SCITECH-rev3"],
                       timeout=30).json()
    (item,) = got["material_items"]
    assert item["satisfied"] is False and item["licence_check"]["status"] == "revoked", item
    assert item["unsatisfied_reason"] == "the licence was revoked by MARKET (reason code 7)"
    assert got["materials_check"]["no_longer_satisfied"] == ["business_licence"]
    assert got["record_consistency"]["consistent"] is True

    r = requests.post(a.scitech.url + f"/subsidies/applications/{app['id']}/reviews", headers=as_sci["SCITECH-rev3"],
                      timeout=60, json={**body, "level": 3})
    assert _error(r, 409)["code"] == "licence_material_invalid"
    assert a.contract("SubsidyLedger").functions.statusOf(bytes.fromhex(app["id"][2:])).call() == 2  # UnderReview

    # -- the enterprise re-supplies the material as a document; the sign-off goes through
    sha = _upload(a.scitech, enterprise, b"business licence scan")
    r = requests.post(a.scitech.url + f"/me/subsidies/{app['id']}/materials/business_licence", headers=enterprise,
                      json={"document_sha256": sha}, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.post(a.scitech.url + f"/subsidies/applications/{app['id']}/reviews", headers=as_sci["SCITECH-rev3"],
                      timeout=60, json={**body, "level": 3})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved"
