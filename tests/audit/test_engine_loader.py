"""audit.loader maps the gateway's real SQL tables (subsidy, fund and oracle models) into a snapshot,
and the engine finds on it what an inspector would: a payout before the notice ended, a payee
account changed just before payment, declared facts that differ from the registry, a firm that
turned abnormal after approval, money spent on wages, criteria amended after the window opened."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from audit.engine import Engine
from audit.findings import Level
from audit.loader import load_snapshot, scan_gateway
from audit.snapshot import iso
from chain.config import Settings, with_overrides
from chain.db import Base, make_engine, session_factory
from gateway.subsidies import fund_models as fm
from gateway.subsidies import models as sm
from gateway.subsidies.calendar import WorkCalendar
from oracle.models import Fact

CAL = WorkCalendar()
U1, U2 = "91330100MA00000001", "91330100MA00000002"
POL, A1, A2 = "0x" + "p1".encode().hex().rjust(64, "0"), "0x" + "a1".rjust(64, "0"), "0x" + "a2".rjust(64, "0")
ADDR = "0x" + "11" * 20


def ts(day: str, hour: int = 10) -> int:
    """Unix time of ``day`` at ``hour``:00 in Asia/Shanghai."""
    return int(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").timestamp())


def registry(uscc: str, name: str, status: str = "active", district: str = "330106", **over) -> dict:
    v = {"uscc": uscc, "name": name, "legal_representative": "Zhang San", "registered_capital": 100_000_000,
         "address": "1 Harbour Road", "business_scope": "robots", "status": status, "registered_district": district,
         "established": "2015-06-01", "shareholders": ["0x" + "aa" * 32], "officers": [],
         "phone_hash": "0x" + "bb" * 32,
         "controller_hash": None}
    v.update(over)
    return v


def tables() -> list:
    return [m.__table__ for m in (Fact, sm.SubsidyPolicy, sm.SubsidyPolicyVersion, sm.SubsidyPolicyMaterial,
                                  sm.SubsidyApplication, sm.SubsidyMaterial, sm.SubsidyVerification, sm.SubsidyReview,
                                  sm.SubsidyRecusal, sm.VerificationAgency, sm.AgencyDraw, fm.SubsidyNotice,
                                  fm.SubsidyNoticeEntry, fm.SubsidyObjection, fm.PayeeAccount, fm.PayoutBatch,
                                  fm.PayoutBatchLine, fm.UseReport, fm.ClawBack, fm.ClawBackRefund,
                                  sm.ApplicationNumber, sm.ReviewOpening, sm.MemberIdentity, sm.ApplicationEdit,
                                  sm.PerformanceCommitment, sm.PerformanceReport, sm.Rectification)]


@pytest.fixture()
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    Base.metadata.create_all(engine, tables=tables())
    make = session_factory(engine)
    with make() as s:
        _fill(s)
        s.commit()
    yield make
    engine.dispose()


@pytest.fixture()
def session(factory):
    with factory() as s:
        yield s


def _fact(s, data_type: str, uscc: str, value: dict, observed: int, n: int) -> None:
    s.add(Fact(data_type=data_type, uscc=uscc, fact_key=f"{uscc}|{n}", subject="0x" + "00" * 32,
               value=json.dumps(value, sort_keys=True), value_hash="0x" + "00" * 32, observed_at=observed,
               source_department={"ENTERPRISE_REGISTRY": "MARKET", "TAX_SUMMARY": "TAX"}.get(data_type, "HRSS"),
               file_digest="00" * 32, file_name="export.csv", line_no=n, signers="[]", digest="0x" + f"{n:064x}",
               tx_hash="0x" + "00" * 32, block_number=1))


def _fill(s) -> None:
    _fact(s, "ENTERPRISE_REGISTRY", U1, registry(U1, "Acme Robotics Co., Ltd."), ts("2026-01-05"), 1)
    _fact(s, "ENTERPRISE_REGISTRY", U1, registry(U1, "Acme Robotics Co., Ltd.", status="abnormal"),
          ts("2026-03-30"), 2)  # after approval, before payout
    _fact(s, "TAX_SUMMARY", U1, {"uscc": U1, "year": 2025, "tax_paid": 10_000_000, "tax_credit_rating": "A",
                                 "revenue": 2_000_000_000}, ts("2026-01-05"), 3)
    _fact(s, "SOCIAL_INSURANCE", U1, {"uscc": U1, "month": "2026-01", "insured_headcount": 50}, ts("2026-02-01"), 4)
    _fact(s, "ENTERPRISE_REGISTRY", U2, registry(U2, "Birch Optics Co., Ltd.", status="revoked", district="350102"),
          ts("2026-01-05"), 5)
    criteria = {"all": [{"fact": "status", "op": "==", "value": "active"}]}
    common = dict(department="INDUSTRY", title="Smart factories", legal_basis_sha256="00" * 32,
                  guide_hash="0x" + "00" * 32,
                  criteria_hash="0x" + "00" * 32, amount_rule=json.dumps({"kind": "requested"}),
                  rule_version="0x" + "00" * 32, budget_fen=10**10, cap_fen=10_000_000, opens_at=ts("2026-03-02", 0),
                  closes_at=ts("2026-05-01", 0), notice_workdays=5, notice_period_seconds=5 * 86400,
                  payout_deadline_workdays=15, payout_deadline_seconds=21 * 86400, no_application=False, version=2,
                  status="open", published_by=ADDR, published_at=ts("2026-02-27"), tx_hash="0x" + "00" * 32)
    s.add(sm.SubsidyPolicy(id=POL, criteria=json.dumps(criteria), **common))
    s.flush()
    for version, action, crit, at in ((1, "published", {"all": []}, ts("2026-02-27")),
                                      (2, "amended", criteria, ts("2026-03-05"))):  # criteria changed after opening
        s.add(sm.SubsidyPolicyVersion(policy_id=POL, version=version, action=action,
                                      terms=json.dumps({"criteria": crit}),
                                      by=ADDR, at=at, tx_hash="0x" + "00" * 32))
    s.add(sm.SubsidyPolicyMaterial(policy_id=POL, code="plan", name="Business plan", licence_types="[]", position=1))
    declared = {"name": "Acme Robotics Co., Ltd.", "legal_representative": "Zhang San",
                "registered_capital_fen": 100_000_000, "address": "99 Other Road", "business_scope": "robots"}
    app = dict(policy_id=POL, department="INDUSTRY", applicant="0x" + "00" * 32, verification="mismatch",
               criteria_met=True, criteria_result="{}", materials_hash="0x" + "00" * 32, materials_required=1,
               materials_by_licence=0, materials_uploaded=1, submitted_by=ADDR, tx_hash="0x" + "00" * 32)
    s.add(sm.SubsidyApplication(id=A1, uscc=U1, enterprise_name="Acme Robotics Co., Ltd.",
                                declared=json.dumps(declared), requested_fen=5_000_000, approved_fen=5_000_000,
                                status="paid", path="manual", review_level=3, submitted_at=ts("2026-03-10"),
                                decided_at=ts("2026-03-20"), payee_account_hash="0x" + "cc" * 32, **app))
    s.add(sm.SubsidyApplication(id=A2, uscc=U2, enterprise_name="Birch Optics Co., Ltd.", declared="{}",
                                requested_fen=1_000_000, status="submitted", path="manual",
                                submitted_at=ts("2026-08-20"), **app))
    s.flush()
    for level, signed in ((1, "2026-03-16"), (2, "2026-03-18"), (3, "2026-03-20")):
        s.add(sm.SubsidyReview(application_id=A1, policy_id=POL, level=level, reviewer=ADDR, department="INDUSTRY",
                               passed=True, amount_fen=5_000_000, opinion_sha256="00" * 32,
                               opinion_digest="0x" + "00" * 32, due_since=ts("2026-03-11"),
                               deadline_at=ts("2026-03-20", 23), reviewed_at=ts(signed), overdue=False,
                               tx_hash="0x" + "00" * 32))
    s.add(fm.SubsidyNotice(id="0x" + "0e" * 32, policy_id=POL, department="INDUSTRY", title="notice",
                           list_sha256="00" * 32, list_digest="0x" + "00" * 32, working_days=5,
                           opened_at=ts("2026-03-25"), ends_at=ts("2026-04-01", 23), opened_by=ADDR,
                           tx_hash="0x" + "00" * 32))
    s.add(fm.SubsidyNoticeEntry(notice_id="0x" + "0e" * 32, application_id=A1, policy_id=POL,
                                applicant="0x" + "00" * 32,
                                uscc=U1, enterprise_name="Acme Robotics Co., Ltd.", amount=5_000_000))
    s.add(fm.SubsidyObjection(notice_id="0x" + "0e" * 32, number=1, application_id=A1, text_sha256="00" * 32,
                              filed_by_kind="member", filed_by=ADDR, filed_at=ts("2026-03-26"),
                              tx_hash="0x" + "00" * 32, status="dismissed", answered_at=ts("2026-03-27")))
    s.add(fm.PayeeAccount(id=1, uscc=U1, applicant="0x" + "00" * 32, account_hash="0x" + "c0" * 32, account_tail="0001",
                          payee_name="Acme Robotics Co., Ltd.", bank_name="Bank", vault_sha256="00" * 32,
                          confirmed_by=U1, changed_at=datetime(2025, 1, 10, tzinfo=timezone.utc),
                          replaced_at=datetime(2026, 3, 31, tzinfo=timezone.utc)))
    s.add(fm.PayeeAccount(id=2, uscc=U1, applicant="0x" + "00" * 32, account_hash="0x" + "cc" * 32, account_tail="0002",
                          payee_name="Acme Robotics Co., Ltd.", bank_name="Bank", vault_sha256="00" * 32,
                          confirmed_by=U1, changed_at=datetime(2026, 3, 31, 2, tzinfo=timezone.utc)))
    s.add(fm.PayoutBatch(id="PB1", chain_id="0x" + "00" * 32, status="recorded", line_count=1, total=5_000_000,
                         control_digest="00" * 32, exported_by=ADDR,
                         exported_at=datetime(2026, 3, 31, 2, tzinfo=timezone.utc),
                         imported_at=datetime(2026, 4, 1, 2, tzinfo=timezone.utc), paid_lines=1,
                         paid_total=5_000_000))
    s.add(fm.PayoutBatchLine(batch_id="PB1", line_no=1, application_id=A1, policy_id=POL, uscc=U1, payee_account_id=2,
                             account_hash="0x" + "cc" * 32, amount=5_000_000, status="paid", returned_amount=5_000_000,
                             paid_at=ts("2026-04-01")))  # on the notice's last day
    s.add(fm.ClawBack(application_id=A1, policy_id=POL, uscc=U1, ordered_amount=1_000_000, refunded=0,
                      decision_sha256="00" * 32, ordered_by=ADDR, ordered_at=datetime(2026, 8, 3, 2, tzinfo=timezone.utc),
                      status="ordered"))
    s.add(fm.UseReport(application_id=A1, uscc=U1, category="wages", amount=1_000_000, description="salaries",
                       receipts="[]", report_sha256="00" * 32, tx_hash="0x" + "00" * 32, reported_at=ts("2026-07-01")))


def test_loader_maps_the_sql_tables(session):
    snap = load_snapshot(session, CAL, as_of=date(2026, 9, 1))
    a = snap.applications
    i = snap.index("applications")[A1]
    assert len(a) == 2 and iso(a.submitted[i]) == "2026-03-10" and a.approved_fen[i] == 5_000_000
    assert snap.text("decision", a.decision[i]) == "approved" and a.review_levels[i] == 3
    assert snap.text("address", a.decl_address[i]) == "99 Other Road"
    e = snap.index("enterprises")
    assert snap.enterprises.insured_staff[e[U1]] == 50 and snap.enterprises.revenue_fen[e[U1]] == 2_000_000_000
    assert snap.text("ent_status", snap.enterprises.status[e[U2]]) == "revoked"
    changes = [(snap.enterprises.id[e], iso(x), snap.text("change", k))
               for e, x, k in zip(snap.registry_changes.enterprise, snap.registry_changes.date,
                                  snap.registry_changes.kind)]
    assert changes == [(U1, "2026-03-30", "abnormal"), (U2, "2026-01-05", "revoked")]
    here = load_snapshot(session, CAL, as_of=date(2026, 9, 1), district="330106")
    assert [(here.enterprises.id[e], here.text("change", k))
            for e, k in zip(here.registry_changes.enterprise, here.registry_changes.kind)] == \
        [(U1, "abnormal"), (U2, "revoked"), (U2, "moved_out")]  # U2 is registered in another district
    assert len(snap.eligible) == 0  # the latest registry of both firms is not active: nobody qualifies now
    assert iso(snap.policies.criteria_changed[0]) == "2026-03-05" and snap.policies.eligibility_run[0] == 1
    line = snap.index("payout_lines")["PB1:1"]
    assert iso(snap.payout_lines.bank_date[line]) == "2026-04-01"
    assert iso(snap.payout_lines.account_changed[line]) == "2026-03-31"
    assert snap.text("account_type", snap.payout_lines.account_type[line]) == "corporate"  # holder = the firm
    assert iso(snap.notices.planned_end[0]) == "2026-04-01" and len(snap.signoffs) == 3
    assert a.formula_fen[i] == 5_000_000  # the policy's amount rule: what was requested, within the cap
    assert snap.reviews.hardfail_overridden.tolist() == [1, 1, 1]  # passed although verification mismatched
    assert (snap.reviews.override_reason >= 0).all()  # ... each with its opinion as the reason
    assert snap.rectifications.due.tolist() == [-1]  # no claw-back due date unless configured
    assert snap.rectifications.amount_fen.tolist() == [1_000_000]


def test_engine_on_loaded_ledger_finds_what_an_inspector_would(session):
    snap = load_snapshot(session, CAL, as_of=date(2026, 9, 1))
    result = Engine().scan(snap)
    got = {(f.point_id, f.subject_id): f.level for f in result.findings}
    assert got[("PUB2", POL)] == Level.ALARM  # criteria amended after the window opened
    assert got[("APP2", A1)] == Level.WARNING  # declared address differs from the registry
    assert got[("APP2", A2)] == Level.ALARM  # applicant's licence revoked
    assert got[("NOT2", A1)] == Level.ALARM  # paid on the notice's last day
    assert got[("PAY2", "PB1:1")] == Level.PROMPT  # payee account changed the day before payment
    assert got[("PAY4", A1)] == Level.PROMPT  # listed abnormal between approval and payout
    assert got[("USE1", A1)] == Level.ALARM  # spent on wages
    assert got[("APP6", A1)] == got[("APP6", A2)] == Level.PROMPT  # two firms, one registered phone
    assert ("PAY5", A1) not in got  # all three levels signed on time
    assert ("NOT4", A1) not in got  # objection answered in a day, before payment
    assert result.stats["USE2"].skipped == 1  # no bank-flow data for the paid application: skipped, not a hit


def test_scan_gateway_uses_the_configured_thresholds(factory, tmp_path):
    settings = with_overrides(Settings(data_dir=tmp_path), audit={"thresholds": ("PAY2.recent_days=1",)})
    ctx = SimpleNamespace(settings=settings, sessions=factory)
    snap, result = scan_gateway(ctx, as_of=date(2026, 9, 1))
    assert len(snap.applications) == 2
    points = {f.point_id for f in result.findings}
    assert "PAY2" not in points and {"PUB2", "NOT2", "USE1"} <= points  # account changed 1 day before: not < 1
    assert len(result.stats) == 29
    use4 = [f for f in result.findings if f.point_id == "USE4"]
    assert [(f.level, f.facts["earliest_due"]["value"]) for f in use4] == [(Level.WARNING, "2026-08-17")]


def test_loader_maps_the_audit_data_tables(factory):
    """The data added for APP3, APP4, REV2, REV4, REV6, USE2, USE3 and USE4 reaches the snapshot."""
    person = "0x" + "aa" * 32  # U1's shareholder (see _fill) is the reviewer's declared identity
    with factory() as s:
        _fact(s, "UTILITY_USE", U1, {"uscc": U1, "year": 2025, "electricity_kwh": 0, "water_tonnes": 5},
              ts("2026-02-01"), 10)
        _fact(s, "BANK_FLOW", U1, {"uscc": U1, "reference": "T1", "account_hash": "0x" + "cc" * 32,
                                   "value_date": "2026-04-03", "amount": 100_000, "kind": "transfer",
                                   "counterparty_hash": "0x" + "dd" * 32, "counterparty_holder_hash": person},
              ts("2026-04-10"), 11)
        s.add(sm.MemberIdentity(member=ADDR, department="INDUSTRY", person_hash=person,
                                former_employers=json.dumps([U2]), declared_by=ADDR))
        s.add(sm.ReviewOpening(application_id=A1, reviewer=ADDR, department="INDUSTRY", level=3, how="view",
                               opened_at=ts("2026-03-20") - 120))
        s.add(sm.ApplicationNumber(application_id=A1, kind="invoice", number="INV1"))
        s.add(sm.ApplicationEdit(application_id=A1, kind="edit", field="project_name", before="a", after="b",
                                 after_signoff=True, reason="typo", by=ADDR))
        s.add(sm.ApplicationEdit(application_id=A1, kind="step", field="status", before="approved", after="paid",
                                 after_signoff=True))
        s.add(sm.PerformanceCommitment(id=1, policy_id=POL, metric="jobs", description="jobs", target=10,
                                       report_due="2026-06-30", period_end="2027-03-31", set_by=ADDR))
        s.add(sm.Rectification(application_id=A1, kind="rectification", department="INDUSTRY", requirement="fix",
                               due_date="2026-08-20", ordered_by=ADDR))
        s.get(sm.SubsidyApplication, A1).project_name = "Robot line"
        s.commit()
    with factory() as s:
        snap = load_snapshot(s, CAL, as_of=date(2026, 9, 1), chain_check=lambda row: row.id != A2)
    e, a = snap.index("enterprises"), snap.index("applications")
    assert snap.enterprises.utility_kwh[e[U1]] == 0 and snap.enterprises.utility_kwh[e[U2]] == -1
    assert snap.text("project", snap.applications.project[a[A1]]) == "robotline"  # normalised
    assert snap.applications.hash_ok.tolist() == [1, 0]
    assert [snap.text("invoice", n) for n in snap.invoices.number] == ["invoice:INV1"]
    assert {snap.text("party", r) for r in snap.reviews.reviewer} == {person}  # the declared identity
    assert snap.reviews.minutes.tolist() == [-1, -1, 2]  # only the level-3 review followed an opening
    kinds = {(snap.text("party", p), snap.enterprises.id[x], snap.text("relation", k))
             for p, x, k in zip(snap.relations.party, snap.relations.enterprise, snap.relations.kind)}
    assert (person, U2, "former_employee") in kinds and (person, U1, "shareholder") in kinds
    assert len(snap.record_changes) == 1 and snap.record_changes.after_signoff.tolist() == [1]  # steps left out
    assert (iso(snap.performance.due[0]), snap.performance.target[0], snap.performance.reported[0]) == \
        ("2026-06-30", 10, -1)
    assert sorted(iso(x) for x in snap.rectifications.due if x >= 0) == ["2026-08-20"]
    t = snap.transfers
    assert len(t) == 1 and iso(t.date[0]) == "2026-04-03" and snap.text("link", t.counterparty_link[0]) == "official"
    result = Engine().scan(snap)
    got = {(f.point_id, f.subject_id): f.level for f in result.findings}
    assert got[("REV2", A1)] == Level.ALARM  # the reviewer is the applicant's shareholder, not recused
    assert got[("USE2", A1)] == Level.ALARM and got[("USE3", A1)] == Level.PROMPT  # report late
    assert got[("REV6", A2)] == Level.ALARM and got[("REV6", A1)] == Level.WARNING
