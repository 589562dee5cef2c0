"""A gateway per department: MARKET and SCITECH each run `alliance up` with only their own keys and
their own database, sharing one chain (an anvil node reached over plain JSON-RPC, started by no
gateway — as a remote Besu validator would be). An operator holding only the deployer key deploys
and bootstraps from an alliance file listing every member's address.

One department issues a licence, the other verifies it from the chain alone; neither can sign for the
other: the contract refuses a licence type the department is not authorised for, and a gateway refuses
to act for a member whose key it does not hold. (Reviewing a subsidy application against the licence:
test_subsidy_across_gateways.py.)
"""

from __future__ import annotations

import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3 import HTTPProvider, Web3

from chain import artifacts
from chain.alliance import DEFAULT_ALLIANCE_FILE, load_alliance
from chain.db import make_engine, session_factory
from chain.keystore import unseal_secret
from gateway.services.licences import holder_hash
from gateway.services.users import create_user
from tests.conftest import FAST_SCRYPT, PASSPHRASE
from tests.integration.conftest import login
from tests.multigateway.conftest import REMOTE_CHAIN_ID

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

CHAIN_FRAGMENTS = {"OpenAttestationHash", "LicenceRecord", "LicenceIssued", "LicenceStatus", "LicenceValidity",
                   "IssuerAuthority"}
USCC = "91350100MA23456789"


def _draft(licence_type: str, number: str) -> dict:
    return {"licence_type": licence_type, "number": number, "holder_uscc": USCC, "holder_name": "福州两局测试有限公司",
            "valid_from": "2024-01-01", "valid_until": "2034-12-31"}


def _fragments(verdict: dict) -> dict[str, str]:
    return {f["name"]: f["status"] for f in verdict["fragments"]}


def _error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _together(*calls):
    """Run independent CLI calls at once (each is a process); their results in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _exported(text: str) -> dict[str, str]:
    """``alias = "0x..."`` lines printed by `alliance members export`."""
    return {k.strip(): v.strip().strip('"') for k, v in (line.split("=", 1) for line in text.splitlines()
                                                         if line.strip() and not line.startswith("#"))}


def _add_login(gateway, username: str, address: str, database_url: str) -> None:
    url = database_url or f"sqlite:///{gateway.data_dir / 'gateway.db'}"
    engine = make_engine(url)
    try:
        create_user(session_factory(engine), username, "login-password-1", kind="member", member_address=address,
                    scrypt_n=FAST_SCRYPT)
    finally:
        engine.dispose()


def test_two_department_gateways_share_one_chain(second_database: str, remote_node, gateways, tmp_path: Path) -> None:
    rpc = remote_node.url
    common = ("--rpc-url", rpc, "--scrypt-n", str(FAST_SCRYPT))
    market, scitech, operator = gateways("market"), gateways("scitech", global_args=("--log-format", "json")), \
        gateways("operator")

    # -- the operator initialises with the deployer key alone, each department its own gateway with its members'
    #    keys only; all with one alliance secret (generated once, carried to every gateway)
    secret_file = tmp_path / "transfer" / "alliance-secret.hex"
    secret_file.parent.mkdir()
    secret_file.write_text(os.urandom(32).hex() + "\n")
    secret_file.chmod(0o600)
    shared = ("--alliance-secret-file", str(secret_file), *common)
    db_args = ("--database-url", second_database) if second_database else ()
    _together(lambda: operator.cli("init", "--deployer-only", *shared),
              lambda: market.cli("init", "--department", "MARKET", "--gateway-port", str(market.gateway_port),
                                 *shared),
              lambda: scitech.cli("init", "--department", "SCITECH", "--gateway-port", str(scitech.gateway_port),
                                  *db_args, *shared))
    for gateway, keys in ((operator, ["deployer.json"]), (market, ["MARKET-admin.json"]),
                          (scitech, ["SCITECH-admin.json"])):
        assert sorted(p.name for p in (gateway.data_dir / "keystore").glob("*.json")) == keys
    assert 'service_department = "SCITECH"' in (scitech.data_dir / "config.toml").read_text()

    # -- they send their addresses to the operator, who lists them in the alliance file and deploys
    exported = "".join(r.stdout for r in _together(lambda: market.cli("members", "export"),
                                                   lambda: scitech.cli("members", "export")))
    address = _exported(exported)
    assert set(address) == {"MARKET-admin", "SCITECH-admin"}
    spec = load_alliance(DEFAULT_ALLIANCE_FILE)
    elsewhere = "".join(f'{m.alias} = "{Account.create().address}"\n' for m in spec.members
                        if m.department not in ("MARKET", "SCITECH"))  # departments whose gateways run elsewhere
    (operator.data_dir / "alliance.toml").write_text(
        DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8") + "\n[addresses]\n" + exported + elsewhere, encoding="utf-8")
    deployed = json.loads(operator.cli("deploy", "--json").stdout)
    assert deployed["deployed"] is True and deployed["bootstrap_transactions"] > 14
    manifest = Path(deployed["manifest"])

    # -- each department attaches to the shared deployment; a gateway set up later joins at init with the
    #    secret exported by a running member of the alliance
    late = gateways("late")
    exported_secret = tmp_path / "transfer" / "exported.hex"
    joined = _together(lambda: market.cli("deploy", "--join", str(manifest), "--json"),
                       lambda: scitech.cli("deploy", "--join", str(manifest), "--json"),
                       lambda: market.cli("secret", "export", "--out", str(exported_secret)))
    assert json.loads(joined[0].stdout)["members"] == {"MARKET-admin": "member of MARKET"}
    assert json.loads(joined[1].stdout)["members"] == {"SCITECH-admin": "member of SCITECH"}
    assert json.loads(joined[1].stdout)["chain_id"] == REMOTE_CHAIN_ID
    assert stat.S_IMODE(exported_secret.stat().st_mode) == 0o600
    assert exported_secret.read_text() == secret_file.read_text()
    _together(lambda: late.cli("init", "--department", "DISCIPLINE", "--join", str(manifest),
                               "--alliance-secret-file", str(exported_secret), *common),
              *[lambda g=g: g.up() for g in (market, scitech)])
    for gateway in (market, scitech, late):  # joining pins the chain id
        assert f"expected_chain_id = {REMOTE_CHAIN_ID}" in (gateway.data_dir / "config.toml").read_text()
    assert (late.data_dir / "deployment.json").read_text() == manifest.read_text()
    assert not (market.data_dir / "node").exists() and not (scitech.data_dir / "node").exists()  # no node of their own

    # -- logins; one on SCITECH's gateway names MARKET's account, whose key that gateway does not hold
    _add_login(market, "market", address["MARKET-admin"], "")
    _add_login(scitech, "scitech", address["SCITECH-admin"], second_database)
    _add_login(scitech, "market-on-b", address["MARKET-admin"], second_database)
    as_market, as_scitech = login(market, "market"), login(scitech, "scitech")
    as_market_on_b = login(scitech, "market-on-b")

    # -- MARKET issues a business licence; SCITECH verifies MARKET's document from the chain alone
    r = requests.post(market.url + "/licences", json=_draft("BUSINESS_LICENCE", "MKT-0001"), headers=as_market,
                      timeout=30)
    assert r.status_code == 201, r.text
    licence, document = r.json()["licence"], r.json()["document"]
    lid = licence["id"]
    at_market = requests.post(market.url + "/verify/licence", json=document, timeout=10).json()
    assert at_market["status"] == "VALID" and _fragments(at_market)["RecordConsistency"] == "VALID"
    at_scitech = requests.post(scitech.url + "/verify/licence", json=document, timeout=10).json()
    fragments = _fragments(at_scitech)
    assert at_scitech["status"] == "VALID", at_scitech
    assert {name: fragments.get(name) for name in CHAIN_FRAGMENTS} == dict.fromkeys(CHAIN_FRAGMENTS, "VALID")
    assert fragments.get("RecordConsistency", "SKIPPED") == "SKIPPED"  # SCITECH's database has no row for it
    assert _error(requests.get(scitech.url + f"/verify/licence/{lid}", timeout=10), 404)["code"] == "licence_not_found"
    chain_status = requests.get(scitech.url + f"/licences/{lid}/status", timeout=10)
    assert chain_status.status_code == 200 and chain_status.json()["valid"] is True, chain_status.text

    # -- neither signs for the other
    r = requests.post(scitech.url + "/licences", json=_draft("BUSINESS_LICENCE", "SCI-BL-1"), headers=as_scitech,
                      timeout=30)
    assert _error(r, 409)["error"] == "NotAuthorisedForType", r.text  # the contract's refusal
    r = requests.post(scitech.url + "/licences", json=_draft("BUSINESS_LICENCE", "SCI-BL-2"), headers=as_market_on_b,
                      timeout=30)
    assert _error(r, 403)["code"] == "key_not_held"
    r = requests.post(scitech.url + f"/licences/{lid}/revoke", json={"reason_code": 3}, headers=as_market_on_b,
                      timeout=30)
    assert _error(r, 403)["code"] == "key_not_held"  # refused before anything is signed
    # a MARKET login's upload on SCITECH's gateway is anchored by SCITECH's own key, never MARKET's
    r = requests.post(scitech.url + "/documents/json", json={"note": "uploaded by MARKET on SCITECH's gateway"},
                      headers=as_market_on_b, timeout=10)
    assert r.status_code == 201 and r.json()["department"] == "SCITECH", r.text
    receipt = r.json()
    deadline = time.monotonic() + 20
    while receipt["status"] != "anchored" and time.monotonic() < deadline:
        time.sleep(0.2)
        receipt = requests.get(scitech.url + f"/documents/{receipt['sha256']}", headers=as_market_on_b,
                               timeout=10).json()
    assert receipt["status"] == "anchored", receipt
    w3 = Web3(HTTPProvider(rpc))
    assert w3.eth.get_transaction(receipt["tx_hash"])["from"] == address["SCITECH-admin"]

    # -- SCITECH issues what it is authorised for, to the same enterprise; MARKET verifies it
    r = requests.post(scitech.url + "/licences", json=_draft("HIGH_TECH_ENTERPRISE_CERTIFICATE", "GR-0001"),
                      headers=as_scitech, timeout=30)
    assert r.status_code == 201, r.text
    hightech_id, hightech_doc = r.json()["licence"]["id"], r.json()["document"]
    assert requests.post(market.url + "/verify/licence", json=hightech_doc, timeout=10).json()["status"] == "VALID"

    # -- one alliance secret: the enterprise has the same keyed hash on chain whichever department issued
    registry = w3.eth.contract(address=json.loads(manifest.read_text())["contracts"]["LicenceRegistry"]["address"],
                               abi=artifacts.load("LicenceRegistry").abi)
    on_chain = {registry.functions.getLicence(bytes.fromhex(i[2:])).call()[2] for i in (lid, hightech_id)}
    keys = {unseal_secret(g.data_dir / "keystore" / "alliance-hmac.sealed", PASSPHRASE) for g in (market, scitech)}
    assert len(keys) == 1 and on_chain == {holder_hash(keys.pop(), USCC)}

    # -- MARKET revokes; SCITECH's verdict follows the chain
    r = requests.post(market.url + f"/licences/{lid}/revoke", json={"reason_code": 7}, headers=as_market, timeout=30)
    assert r.status_code == 200, r.text
    after = requests.post(scitech.url + "/verify/licence", json=document, timeout=10).json()
    assert after["status"] == "INVALID" and _fragments(after)["LicenceStatus"] == "INVALID", after
    assert requests.get(scitech.url + f"/licences/{lid}/status", timeout=10).json()["status"] == "revoked"

    # -- SCITECH's gateway logged one JSON object per line (--log-format json)
    scitech.stop()
    records = [json.loads(line) for line in scitech.logs[-1].read_text().splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(rec) for rec in records)
    assert any(rec["message"].startswith("journal:") for rec in records)
