"""The audit API over a real gateway (eth-tester ledger, the default alliance), on a migrated SQLite
database and on PostgreSQL: the discipline commission sees everything, a department only its own
alerts; rectification by the alert's department, closing, hold release, case steps and evidence packs
by INSPECTOR members only; every refusal is a JSON error with a machine-readable code.

One gateway per backend is shared by the module (deploying and bootstrapping costs seconds), but every
test raises its own alerts on fresh application ids, so the tests run in any order and on any worker."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from audit import alerts as store
from audit import evidence, routing
from audit.findings import Finding, Level
from chain.db import make_engine, session_factory
from chain.ledger import Ledger
from gateway.app import create_app
from gateway.services import users
from tests.audit.conftest import finding
from tests.conftest import FAST_SCRYPT, make_context, make_settings, migrated_database
from tests.gateway.helpers import PASSWORD, bearer, error_of

DAY = 86400


@dataclass
class AuditGateway:
    backend: str
    client: TestClient
    h: dict[str, dict[str, str]]  # department -> Authorization header of its admin
    ctx: Any
    env: routing.AuditEnv

    def now(self) -> int:
        return int(self.ctx.ledger.chain.w3.eth.get_block("latest").timestamp)

    def raise_(self, *findings: Finding, now: int | None = None) -> store.ApplyResult:
        """Persist and route findings as a scan would, then settle the chain side."""
        return routing.process(self.env, list(findings), self.now() if now is None else now)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def audit_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from migrated_database(request, tmp_path_factory.mktemp(f"audit-api-{request.param}"))


@pytest.fixture(scope="module")
def gw(audit_database_url: str, tmp_path_factory: pytest.TempPathFactory, alliance_spec,
       keyring) -> Iterator[AuditGateway]:
    backend = "sqlite" if audit_database_url.startswith("sqlite") else "postgres"
    data_dir: Path = tmp_path_factory.mktemp(f"audit-api-{backend}-data")
    settings = make_settings(data_dir, audit_database_url)
    engine = make_engine(audit_database_url)
    sessions = session_factory(engine)
    ledger = Ledger.open(settings, alliance_spec, keyring, sessions)
    ledger.ensure_deployed()
    ledger.bootstrap()
    ctx = make_context(settings, ledger)
    for member in alliance_spec.members:
        users.create_user(sessions, member.alias.lower(), PASSWORD, kind="member",
                          member_address=keyring.account(member.alias).address, scrypt_n=FAST_SCRYPT)
    with TestClient(create_app(ctx)) as client:
        headers = {}
        for dept in ("DISCIPLINE", "SCITECH", "COMMERCE"):
            response = client.post("/auth/login", json={"username": f"{dept.lower()}-admin", "password": PASSWORD})
            assert response.status_code == 200, response.text
            headers[dept] = bearer(response.json()["token"])
        yield AuditGateway(backend, client, headers, ctx, routing.AuditEnv.from_context(ctx))
    ledger.close()
    engine.dispose()


def app_id() -> str:
    """A fresh application id no other test uses."""
    return "0x" + secrets.token_hex(32)


def aid(point: str, app: str) -> str:
    return store.alert_id_of(point, "application", app)


def test_every_endpoint_needs_a_token(gw: AuditGateway) -> None:
    c = gw.client
    for method, path in [("get", "/audit/alerts"), ("get", "/audit/dashboard"), ("post", "/audit/tick"),
                         ("get", "/audit/cases"), ("post", "/audit/scans"),
                         ("get", f"/audit/alerts/{aid('APP1', app_id())}/evidence.zip")]:
        error_of(getattr(c, method)(path), 401, "token_missing")


def test_the_commission_sees_all_a_department_its_own(gw: AuditGateway) -> None:
    c, h = gw.client, gw.h
    x, y, z = app_id(), app_id(), app_id()
    gw.raise_(finding("APP1", Level.PROMPT, x, stage="apply", department="SCITECH"),
              finding("PAY1", Level.WARNING, y, department="SCITECH"),
              finding("PAY2", Level.ALARM, z, department="COMMERCE", amount_fen=90_000_00))
    mine = {aid("APP1", x), aid("PAY1", y), aid("PAY2", z)}
    everything = {a["alert_id"] for a in c.get("/audit/alerts?limit=1000", headers=h["DISCIPLINE"]).json()}
    assert mine <= everything
    own = c.get("/audit/alerts?limit=1000", headers=h["SCITECH"]).json()
    assert {a["department"] for a in own} == {"SCITECH"}
    assert {aid("APP1", x), aid("PAY1", y)} <= {a["alert_id"] for a in own}
    assert aid("PAY2", z) not in {a["alert_id"] for a in own}
    error_of(c.get("/audit/alerts?department=COMMERCE", headers=h["SCITECH"]), 403, "not_your_department")
    error_of(c.get(f"/audit/alerts/{aid('PAY2', z)}", headers=h["SCITECH"]), 403, "not_your_department")
    alarm = c.get(f"/audit/alerts/{aid('PAY2', z)}", headers=h["DISCIPLINE"]).json()
    assert alarm["level"] == "alarm" and alarm["hold_status"] == "placed" and alarm["case"]["status"] == "open"
    assert alarm["records"][0]["root"] and alarm["fields"][0]["source_department"] == "FINANCE"
    error_of(c.get("/audit/alerts/0x1234", headers=h["DISCIPLINE"]), 422, "invalid_alert_id")
    error_of(c.get("/audit/alerts/0x" + "0" * 64, headers=h["DISCIPLINE"]), 404, "alert_not_found")
    officer = {a["alert_id"] for a in c.get("/audit/worklist?audience=officer", headers=h["SCITECH"]).json()}
    head = {a["alert_id"] for a in c.get("/audit/worklist?audience=head", headers=h["SCITECH"]).json()}
    assert aid("APP1", x) in officer and aid("APP1", x) not in head
    assert aid("PAY1", y) in head and aid("PAY1", y) not in officer
    assert aid("PAY2", z) not in officer | head  # another department's


def test_rectification_is_signed_by_the_alerts_department_only(gw: AuditGateway) -> None:
    c, h = gw.client, gw.h
    y = app_id()
    gw.raise_(finding("PAY1", Level.WARNING, y, department="SCITECH"))
    path = f"/audit/alerts/{aid('PAY1', y)}/dispositions"
    body = {"kind": "rectified", "note": "payment schedule corrected"}
    error_of(c.post(path, json=body, headers=h["COMMERCE"]), 403, "not_your_department")
    error_of(c.post(path, json=body, headers=h["DISCIPLINE"]), 403, "not_responsible_department")
    error_of(c.post(path, json={"kind": "closed", "note": "销号"}, headers=h["SCITECH"]), 403, "missing_role")
    error_of(c.post(path, json={"kind": "deleted", "note": "x"}, headers=h["SCITECH"]), 422, "invalid_request")
    response = c.post(path, json=body, headers=h["SCITECH"])
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["alert"]["status"] == "rectified" and out["disposition"]["department"] == "SCITECH"
    assert out["disposition"]["tx_hash"].startswith("0x")
    response = c.post(path, json={"kind": "closed", "note": "销号: rectification checked"}, headers=h["DISCIPLINE"])
    assert response.status_code == 201 and response.json()["alert"]["status"] == "closed"
    error_of(c.post(path, json=body, headers=h["SCITECH"]), 409, "alert_closed")


def test_hold_release_cases_and_packs_are_the_commissions(gw: AuditGateway) -> None:
    c, h, ctx = gw.client, gw.h, gw.ctx
    z = app_id()
    gw.raise_(finding("PAY2", Level.ALARM, z, department="COMMERCE", amount_fen=90_000_00))
    alarm = aid("PAY2", z)
    case_id = c.get(f"/audit/alerts/{alarm}", headers=h["DISCIPLINE"]).json()["case"]["case_id"]
    error_of(c.post(f"/audit/cases/{case_id}/steps", json={"step": "preliminary", "note": "x"},
                    headers=h["COMMERCE"]), 403, "missing_role")
    response = c.post(f"/audit/cases/{case_id}/steps", json={"step": "preliminary", "note": "初核 started"},
                      headers=h["DISCIPLINE"])
    assert response.status_code == 201 and response.json()["status"] == "preliminary"
    assert [s["step"] for s in response.json()["steps"]] == ["opened", "preliminary"]
    listed = {k["case_id"]: k for k in c.get("/audit/cases", headers=h["DISCIPLINE"]).json()}
    assert listed[case_id]["colour"] in ("green", "yellow") and listed[case_id]["alert_id"] == alarm
    error_of(c.get("/audit/cases", headers=h["SCITECH"]), 403, "missing_role")

    error_of(c.post(f"/audit/alerts/{alarm}/hold/release", json={"note": "fine"}, headers=h["COMMERCE"]), 403,
             "missing_role")
    holds = ctx.ledger.contract("AuditHolds").functions
    assert holds.isHeld(bytes.fromhex(z[2:])).call()
    response = c.post(f"/audit/alerts/{alarm}/hold/release", json={"note": "bank confirmed the payee"},
                      headers=h["DISCIPLINE"])
    assert response.status_code == 200, response.text
    assert not holds.isHeld(bytes.fromhex(z[2:])).call()
    error_of(c.post(f"/audit/alerts/{alarm}/hold/release", json={"note": "again"}, headers=h["DISCIPLINE"]), 409,
             "no_active_hold")

    error_of(c.get(f"/audit/cases/{case_id}/evidence.zip", headers=h["COMMERCE"]), 403, "missing_role")
    response = c.get(f"/audit/cases/{case_id}/evidence.zip", headers=h["DISCIPLINE"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    verdict = evidence.check_pack(response.content, ctx.ledger.chain.w3)
    assert verdict.valid, verdict.to_dict()
    content = json.loads(evidence.read_pack(response.content)[1][f"alerts/{alarm}.json"])
    assert content["hold"]["status"] == "released"


def test_dashboard_for_the_commission_and_for_a_department(gw: AuditGateway) -> None:
    c, h = gw.client, gw.h

    def pay2_alarms() -> int:
        return c.get("/audit/dashboard", headers=h["DISCIPLINE"]).json()["counts"]["by_point"].get(
            "PAY2", {}).get("alarm", 0)

    before = pay2_alarms()
    gw.raise_(finding("PAY2", Level.ALARM, app_id(), department="COMMERCE", amount_fen=10_000_00),
              finding("APP1", Level.PROMPT, app_id(), stage="apply", department="SCITECH"))
    alliance = c.get("/audit/dashboard", headers=h["DISCIPLINE"]).json()
    assert alliance["scope"] == "alliance" and alliance["alerts"]["total"] >= 2
    assert pay2_alarms() == before + 1
    own = c.get("/audit/dashboard", headers=h["SCITECH"]).json()
    assert own["scope"] == "SCITECH" and set(own["counts"]["by_department"]) == {"SCITECH"}


def test_the_tick_endpoint_escalates_a_missed_deadline(gw: AuditGateway) -> None:
    c, h = gw.client, gw.h
    w = app_id()
    # a warning raised a month ago: its rectification deadline has passed
    gw.raise_(finding("NOT4", Level.WARNING, w, stage="notice", department="COMMERCE"), now=gw.now() - 30 * DAY)
    alert_id = aid("NOT4", w)
    assert c.get(f"/audit/alerts/{alert_id}", headers=h["DISCIPLINE"]).json()["level"] == "warning"
    error_of(c.post("/audit/tick", headers=h["SCITECH"]), 403, "missing_role")
    response = c.post("/audit/tick", headers=h["DISCIPLINE"])
    assert response.status_code == 200 and response.json()["escalated"] >= 1
    alert = c.get(f"/audit/alerts/{alert_id}", headers=h["DISCIPLINE"]).json()
    assert (alert["level"], alert["status"], alert["hold_status"]) == ("alarm", "case_opened", "placed")
    assert "escalated" in [e["kind"] for e in alert["history"]]


def test_the_gateways_background_loop_escalates_a_missed_deadline(gw: AuditGateway) -> None:
    from audit.service import background_task

    ctx = gw.ctx
    w = app_id()
    (alert_id,) = gw.raise_(finding("NOT4", Level.WARNING, w, stage="notice", department="COMMERCE")).new
    deadline = store.get(ctx.sessions, alert_id).deadline_at
    clock = [float(deadline - 10)]
    task = background_task(ctx, clock=lambda: clock[0])
    assert task() is not None
    assert store.get(ctx.sessions, alert_id).level == Level.WARNING  # not yet due
    clock[0] = deadline + 1.0
    assert task() is None  # throttled: at most every [audit] tick_seconds
    clock[0] = deadline + ctx.settings.audit.tick_seconds
    assert task()["escalated"] >= 1
    alert = store.get(ctx.sessions, alert_id)
    assert (alert.level, alert.hold_status) == (Level.ALARM, "placed")
    assert ctx.ledger.contract("AuditHolds").functions.isHeld(bytes.fromhex(w[2:])).call()


def test_a_field_naming_an_oracle_fact_shows_its_source_department_file_and_line(gw: AuditGateway) -> None:
    from chain.db import transaction
    from oracle.models import Fact

    ctx, c, h = gw.ctx, gw.client, gw.h
    digest, uscc = "0x" + secrets.token_hex(32), "91330100ACME" + secrets.token_hex(3).upper()
    tx = "0x" + secrets.token_hex(32)
    with transaction(ctx.sessions) as s:
        s.add(Fact(data_type="TAX_PAID", uscc=uscc, fact_key=f"{uscc}|2025",
                   subject="0x" + "00" * 32, value='{"tax_fen":1200}', value_hash="0x" + "11" * 32,
                   observed_at=1, source_department="TAX", file_digest="ab" * 32, file_name="tax-2025.csv",
                   line_no=42, signers="[]", digest=digest, tx_hash=tx, block_number=1))
    (alert_id,) = gw.raise_(finding("APP5", Level.PROMPT, app_id(), stage="apply", department="SCITECH",
                                    tax_paid={"value": 1200, "source": {"digest": digest}})).new
    fields = c.get(f"/audit/alerts/{alert_id}", headers=h["SCITECH"]).json()["fields"]
    assert fields == [{"name": "tax_paid", "value": 1200, "source_department": "TAX",
                       "source": {"digest": digest, "department": "TAX", "file": "tax-2025.csv", "line": 42,
                                  "tx_hash": tx, "data_type": "TAX_PAID"}}]


def test_a_full_scan_is_the_commissions_and_counts_what_changed(gw: AuditGateway) -> None:
    c, h = gw.client, gw.h
    error_of(c.post("/audit/scans", headers=h["SCITECH"]), 403, "missing_role")
    error_of(c.post("/audit/scans", json={"points": ["XXX9"]}, headers=h["DISCIPLINE"]), 422, "unknown_point")
    # the gateway's own ledger (no subsidy data here): PUB1 runs, finds nothing, raises nothing
    response = c.post("/audit/scans", json={"points": ["PUB1"]}, headers=h["DISCIPLINE"])
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["points"] == ["PUB1"] and out["findings"] == 0
    assert {k: out[k] for k in ("new", "raised", "recurred", "unchanged", "cleared")} == dict.fromkeys(
        ("new", "raised", "recurred", "unchanged", "cleared"), 0)


def test_full_scans_of_a_snapshot_raise_keep_and_clear_alerts(gw: AuditGateway) -> None:
    from audit.service import run_full_scan
    from audit.synthetic import clean_ledger

    line = f"B{secrets.token_hex(4)}:1"
    ledger = clean_ledger().set("payout_lines", "B1:1", id=line)
    rounding = ledger.copy().set("payout_lines", line, bank_fen=5_000_100)  # PAY3 prompt
    underpaid = ledger.copy().set("payout_lines", line, bank_fen=4_999_899)  # PAY3 warning
    now = gw.now()
    counts = ("new", "raised", "recurred", "unchanged", "cleared")

    def scan(scenario, at: int) -> dict[str, int]:
        out = run_full_scan(gw.ctx, snapshot_loader=scenario.build, now=at, points=["PAY3"])
        assert out["points"] == ["PAY3"]
        return {k: out[k] for k in counts}

    assert scan(rounding, now) == {"new": 1, "raised": 0, "recurred": 0, "unchanged": 0, "cleared": 0}
    alert_id = store.alert_id_of("PAY3", "payout", line)
    assert scan(rounding, now + 60) == {"new": 0, "raised": 0, "recurred": 0, "unchanged": 1, "cleared": 0}
    assert scan(underpaid, now + 120) == {"new": 0, "raised": 1, "recurred": 0, "unchanged": 0, "cleared": 0}
    alert = gw.client.get(f"/audit/alerts/{alert_id}", headers=gw.h["DISCIPLINE"]).json()
    assert (alert["level"], alert["department"], alert["subject_type"]) == ("warning", "INDUSTRY", "payout")
    assert alert["facts"]["condition"] and alert["records"][-1]["root"]  # anchored
    assert scan(ledger, now + 180) == {"new": 0, "raised": 0, "recurred": 0, "unchanged": 0, "cleared": 1}
    assert store.get(gw.ctx.sessions, alert_id).condition == "cleared"
    assert scan(underpaid, now + 240)["recurred"] == 1


def test_new_chain_events_are_evaluated_for_the_subjects_they_touch(gw: AuditGateway) -> None:
    from types import SimpleNamespace

    from audit.engine import Event
    from audit.service import engine_events, event_listener
    from audit.synthetic import clean_ledger

    line = f"B{secrets.token_hex(4)}:1"
    overpaid = clean_ledger().set("payout_lines", "B1:1", id=line, bank_fen=5_000_101)  # PAY3 alarm
    rows = [SimpleNamespace(contract="SubsidyLedger", event="PayoutRecorded",
                            args=json.dumps({"applicationId": "A1", "batchId": "0x" + "00" * 32, "lineNo": 1})),
            SimpleNamespace(contract="SubsidyLedger", event="PolicyAmended", args=json.dumps({"policyId": "P1"})),
            SimpleNamespace(contract="AuditHolds", event="HoldPlaced", args=json.dumps({"applicationId": "A1"}))]
    assert engine_events(rows) == [Event("payout.recorded", application_id="A1"),
                                   Event("record.changed", application_id="A1"),  # REV6 on every step
                                   Event("policy.changed", policy_id="P1")]
    listen = event_listener(gw.ctx, snapshot_loader=overpaid.build, clock=lambda: float(gw.now()))
    result = listen(rows)
    alert_id = store.alert_id_of("PAY3", "payout", line)
    assert alert_id in result.new
    alert = store.get(gw.ctx.sessions, alert_id)
    # an alarm on a line whose application has no ledger id to freeze: told to the commission, cased, no hold
    assert (alert.level, alert.hold_status) == (Level.ALARM, "none")
    assert alert_id in listen(rows).unchanged  # the same event again: the same alert, no duplicate
    assert listen([rows[2]]) is None  # nothing the rules listen to
