"""The oracle end to end on an in-process chain: sample source files → signed attestations accepted
by the OracleHub → facts with provenance, through the service and the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from chain.db import make_engine, session_factory
from chain.errors import ContractRevert
from chain.ledger import Ledger
from gateway.app import create_app
from gateway.services import users
from oracle import service
from oracle.sample import main as sample_main
from oracle.signing import domain, sign
from tests.conftest import FAST_SCRYPT, make_context, make_settings, migrated_database

PASSWORD = "login-password-1"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert sample_main(["--enterprises", "40", "--out", str(out), "--anomalies", "0.2", "--seed", "3",
                        "--broken", "4"]) == 0
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def oracle_gw(request, tmp_path_factory, alliance_spec, keyring):
    tmp = tmp_path_factory.mktemp(f"oracle-{request.param}")
    database = migrated_database(request, tmp)
    url = next(database)
    engine = make_engine(url)
    ledger = Ledger.open(make_settings(tmp, url), alliance_spec, keyring, session_factory(engine))
    ledger.ensure_deployed()
    ledger.bootstrap()
    ctx = make_context(ledger.settings, ledger)
    for dept in ("MARKET", "TAX", "HRSS", "APPROVAL"):
        users.create_user(ledger.sessions, dept.lower(), PASSWORD, kind="member",
                          member_address=keyring.account(f"{dept}-admin").address, scrypt_n=FAST_SCRYPT)
    with TestClient(create_app(ctx)) as client:
        yield ctx, client
    ledger.close()
    engine.dispose()
    next(database, None)  # drops the PostgreSQL database


def _headers(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/auth/login", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_ingest_is_idempotent_and_reports_bad_lines(oracle_gw, sample_dir: Path) -> None:
    ctx, _ = oracle_gw
    truth = json.loads((sample_dir / "anomalies.json").read_text())
    raw = (sample_dir / "registry.csv").read_bytes()
    first = service.ingest(ctx.ledger, ctx.hmac_key, raw, "registry.csv")
    assert first.data_type == "ENTERPRISE_REGISTRY" and first.source_department == "MARKET"
    assert first.attested == first.good_lines >= 36 and first.transactions
    broken = [b for b in truth.get("broken_lines", []) if b["file"] == "registry.csv"]
    assert broken and sorted({e["line"] for e in first.errors}) == sorted({b["line_no"] for b in broken})
    assert all(e["reason"] for e in first.errors)
    again = service.ingest(ctx.ledger, ctx.hmac_key, raw, "registry.csv")
    assert again.attested == 0 and again.unchanged == first.attested and again.transactions == []


def test_a_fact_traces_back_to_its_file_line(oracle_gw, sample_dir: Path) -> None:
    ctx, client = oracle_gw
    raw = (sample_dir / "tax.csv").read_bytes()
    report = service.ingest(ctx.ledger, ctx.hmac_key, raw, "tax.csv")
    assert report.attested > 0
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    uscc = rows[0]["uscc"]
    facts = client.get(f"/oracle/facts/{uscc}", headers=_headers(client, "approval")).json()["facts"]
    tax = [f for f in facts if f["data_type"] == "TAX_SUMMARY"]
    assert tax, facts
    prov = tax[0]["provenance"]
    assert prov["source_department"] == "TAX" and prov["file"] == "tax.csv"
    assert prov["file_digest"] == __import__("hashlib").sha256(raw).hexdigest()
    line = raw.decode("utf-8-sig").splitlines()[prov["line"] - 1]
    assert uscc in line and str(tax[0]["value"]["year"]) in line
    assert tax[0]["accepted_on_chain"] is True and prov["tx_hash"].startswith("0x")
    assert prov["signers"] == [ctx.ledger.keyring.account("TAX-admin").address]


def test_source_department_rules(oracle_gw, sample_dir: Path) -> None:
    ctx, client = oracle_gw
    # through the API: only the source department may push its data type
    files = {"file": ("social.csv", (sample_dir / "social_insurance.csv").read_bytes(), "text/csv")}
    r = client.post("/oracle/files", files=files, headers=_headers(client, "tax"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_source_department"
    r = client.post("/oracle/files", files=files, headers=_headers(client, "hrss"))
    assert r.status_code == 201 and r.json()["attested"] > 0, r.text
    r = client.post("/oracle/files", files={"file": ("x.csv", b"foo,bar\n1,2\n", "text/csv")},
                    headers=_headers(client, "market"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "unreadable_file"
    r = client.post("/oracle/files", data={"data_type": "WEATHER"}, files=files, headers=_headers(client, "hrss"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_data_type"
    # on chain: a signature by a member of another department is refused by the contract
    hub = ctx.ledger.contract("OracleHub")
    dom = domain(ctx.ledger.chain.chain_id, hub.address)
    message = {"dataType": b"TAX_SUMMARY".ljust(32, b"\0"), "subject": keccak(b"s"), "valueHash": keccak(b"v"),
               "observedAt": 1_700_000_000, "sourceDigest": keccak(b"f"), "sourceLine": 2}
    market = ctx.ledger.keyring.account("MARKET-admin")
    item = tuple(message.values())
    with pytest.raises(ContractRevert) as exc:
        ctx.ledger.txm.transact(market, hub.functions.submit(item, [sign(market, dom, message)]), "wrong source")
    assert exc.value.error in ("NotSourceMember", "MissingRole")
    tax = ctx.ledger.keyring.account("TAX-admin")
    ctx.ledger.txm.transact(tax, hub.functions.submit(item, [sign(tax, dom, message)]), "right source")
    with pytest.raises(ContractRevert) as exc:  # replay
        ctx.ledger.txm.transact(tax, hub.functions.submit(item, [sign(tax, dom, message)]), "replay")
    assert exc.value.error == "AlreadyAccepted"
    with pytest.raises(service.OracleError, match="no source department"):
        service.source_of(ctx.ledger, "WEATHER")


def test_a_changed_value_is_listed_as_a_conflict(oracle_gw, sample_dir: Path) -> None:
    ctx, client = oracle_gw
    raw = (sample_dir / "registry.csv").read_bytes().decode("utf-8-sig")
    service.ingest(ctx.ledger, ctx.hmac_key, raw.encode(), "registry.csv", observed_at=1_700_000_000)
    lines = raw.splitlines()
    header, first = lines[0].split(","), next(csv.reader([lines[1]]))
    uscc = first[header.index("uscc")]
    first[header.index("address")] = "福州市鼓楼区新地址路1号"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, first])
    updated_at = int(__import__("time").time())
    report = service.ingest(ctx.ledger, ctx.hmac_key, out.getvalue().encode(), "registry-update.csv",
                            observed_at=updated_at)
    assert report.attested == 1
    body = client.get(f"/oracle/facts/{uscc}/conflicts?since={updated_at}", headers=_headers(client, "approval")).json()
    moved = [c for c in body["changes"] if c["field"] == "address" and c["after"] == "福州市鼓楼区新地址路1号"]
    assert moved and moved[0]["provenance"]["file"] == "registry-update.csv"
    assert moved[0]["observed_after"] == updated_at
    assert all(c["field"] == "address" for c in body["changes"])
    history = client.get(f"/oracle/facts/{uscc}/history?data_type=ENTERPRISE_REGISTRY",
                         headers=_headers(client, "approval")).json()
    assert [h["observed_at"] for h in history] == sorted(h["observed_at"] for h in history) and len(history) >= 2
    r = client.get("/oracle/facts/NOT-A-USCC", headers=_headers(client, "approval"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_uscc"
