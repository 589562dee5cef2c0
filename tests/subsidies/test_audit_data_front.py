"""The data the apply and review points need, entered through the product and seen by the audit scan:
an application's project, year, invoice and contract numbers (APP3); utility use attested by its source
department (APP4); reviewers' declared identities against registry shareholders and relatives (REV2);
when a reviewer opened an application (REV4); the edit log of application rows and the comparison of a
row with the chain (REV6). Each point is shown firing from data that came in through the API / oracle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from audit.findings import Level
from audit.loader import scan_gateway
from chain.db import transaction
from gateway.subsidies.calendar import WorkCalendar
from gateway.subsidies.models import SubsidyApplication
from oracle import service as oracle_service
from oracle.keyed import party_hash
from tests.gateway.helpers import error_of
from tests.subsidies.conftest import SubsidyGateway, new_uscc

REGISTRY = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
            "registered_district,established,shareholders,relatives\n")
REV1_ID, REV2_ID = "350102198001010011", "35010219850202002X"


def today(sg: SubsidyGateway):
    return WorkCalendar.from_settings(sg.ctx.settings.calendar).local_date(sg.now())


def scan(sg: SubsidyGateway, as_of=None, with_snapshot: bool = False) -> Any:
    snap, result = scan_gateway(sg.ctx, as_of=as_of or today(sg))
    found = {(f.point_id, f.subject_id): f for f in result.findings}
    return (snap, found) if with_snapshot else found


def register(sg: SubsidyGateway, *, established: str = "2015-06-01", shareholders: str = "",
             relatives: str = "") -> str:
    """Attest a registry entry (as MARKET, through the oracle) naming shareholders and relatives."""
    uscc = new_uscc()
    line = ",".join(f'"{v}"' for v in (uscc, "福州测试科技有限公司", "张三", "5000000", "福州市鼓楼区五四路1号",
                                        "软件开发;信息技术咨询服务", "active", "350102", established, shareholders,
                                        relatives))
    report = oracle_service.ingest(sg.ctx.ledger, sg.ctx.hmac_key, (REGISTRY + line + "\n").encode(),
                                   f"registry-{uscc}.csv", data_type="ENTERPRISE_REGISTRY")
    assert report.attested == 1, report.as_dict()
    return uscc


def applicant(sg: SubsidyGateway, **registry: Any) -> tuple[str, dict[str, str]]:
    uscc = register(sg, **registry)
    sg.licence(uscc)
    sg.licence(uscc, "HIGH_TECH_ENTERPRISE_CERTIFICATE")
    return uscc, sg.enterprise(uscc)


def apply(sg: SubsidyGateway, policy_id: str, headers: dict[str, str], manual: bool = False, **project: Any) -> dict:
    body: dict[str, Any] = {"requested_fen": 100_000_00, "uploads": {"audit_report": sg.upload(headers)}}
    if project:
        body["project"] = project
    if manual:  # a declared legal representative that differs from the registry: manual review
        body["declared"] = {"legal_representative": "赵六"}
    response = sg.client.post(f"/subsidies/policies/{policy_id}/applications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def policies(sg: SubsidyGateway) -> tuple[dict, dict]:
    return sg.publish(), sg.publish()


# ---------------------------------------------------------------------------- PUB1


def test_a_guide_published_long_after_its_policy_document_is_pub1(sg: SubsidyGateway) -> None:
    day = today(sg)
    late = sg.publish(document_date=(day - timedelta(days=14)).isoformat())
    prompt_guide = sg.publish(document_date=day.isoformat())
    assert late["id"] != prompt_guide["id"]
    versions = sg.client.get(f"/subsidies/policies/{late['id']}/versions", headers=sg.member("SCITECH-admin"))
    assert versions.status_code == 200  # the document date is part of the recorded terms
    assert versions.json()[0]["terms"]["document_date"] == (day - timedelta(days=14)).isoformat()
    found = scan(sg)
    assert found[("PUB1", late["id"])].level == Level.WARNING  # > 7 working days from document to guide
    assert found[("PUB1", late["id"])].facts["issue"]["value"] == (day - timedelta(days=14)).isoformat()
    assert ("PUB1", prompt_guide["id"]) not in found
    # a date in the future, or not a date: refused, nothing published
    for bad in ((day + timedelta(days=3)).isoformat(), "2026-13-01"):
        error_of(sg.client.post("/subsidies/policies", json=sg.policy_body(document_date=bad),
                                headers=sg.member("SCITECH-admin")), 422, "invalid_date")


# ---------------------------------------------------------------------------- APP3


def test_project_invoice_and_contract_numbers_are_kept_and_app3_fires(sg: SubsidyGateway, policies) -> None:
    p1, p2 = policies
    uscc, headers = applicant(sg)
    project = {"name": "智能产线改造（一期）", "category": "equipment", "year": 2026,
               "invoice_numbers": ["3500 1234 5678", "35009999"], "contract_numbers": ["HT-2026-001"]}
    first = apply(sg, p1["id"], headers, **project)
    assert first["status"] == "approved" and first["path"] == "auto"
    assert first["project"] == {"name": "智能产线改造（一期）", "category": "equipment", "year": 2026,
                                "invoice_numbers": ["350012345678", "35009999"], "contract_numbers": ["HT-2026-001"]}
    # the same project (formatting aside) and one invoice again, under another policy, reviewed by people
    second = apply(sg, p2["id"], headers, manual=True, name="智能产线改造 (一期)", category="equipment", year=2026,
                   invoice_numbers=["350012345678"])
    assert second["status"] == "submitted"
    found = scan(sg)
    assert found[("APP3", second["id"])].level == Level.ALARM  # an invoice another approved claim was paid on
    assert found[("APP3", second["id"])].facts["invoices_funded_elsewhere"]["value"] == 1
    assert found[("APP3", first["id"])].level == Level.WARNING  # same category and year in another policy


def test_project_fields_are_validated(sg: SubsidyGateway, policies) -> None:
    p1, _ = policies
    _, headers = applicant(sg)
    base = {"requested_fen": 100_000_00, "uploads": {"audit_report": sg.upload(headers)}}
    for project, code in (({"invoice_numbers": ["发票#1"]}, "invalid_numbers"),
                          ({"invoice_numbers": ["A1", "a 1"]}, "duplicate_number")):
        error_of(sg.client.post(f"/subsidies/policies/{p1['id']}/applications", json={**base, "project": project},
                                headers=headers), 422, code)
    response = sg.client.post(f"/subsidies/policies/{p1['id']}/applications",
                              json={**base, "project": {"year": 1999}}, headers=headers)
    assert response.status_code == 422  # outside 2000-2100


# ---------------------------------------------------------------------------- APP5


def test_declared_figures_are_kept_and_app5_compares_them_with_the_tax_attestation(sg: SubsidyGateway,
                                                                                   policies) -> None:
    p1, p2 = policies
    uscc, headers = applicant(sg)
    tax = oracle_service.ingest(sg.ctx.ledger, sg.ctx.hmac_key,
                                (f"uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n"
                                 f"{uscc},2025,100000,A,10000000\n").encode(), f"tax-{uscc}.csv",
                                data_type="TAX_SUMMARY")
    assert tax.attested == 1, tax.as_dict()
    base = {"requested_fen": 100_000_00, "uploads": {"audit_report": sg.upload(headers)}}
    # a figure must be a whole number: nothing is filed
    for bad in ({"revenue_fen": -1}, {"insured_staff": "12"}, {"revenue_fen": 1.5}, {"turnover_fen": 1}):
        code = "unknown_field" if "turnover_fen" in bad else "invalid_figure"
        error_of(sg.client.post(f"/subsidies/policies/{p1['id']}/applications", json={**base, "declared": bad},
                                headers=headers), 422, code)
    assert sg.client.get("/me/subsidies", headers=headers).json() == []
    # declared revenue 16,000,000 yuan against 10,000,000 attested: 60 % above, the alarm
    body = {**base, "declared": {"revenue_fen": 1_600_000_000, "tax_paid_fen": 10_000_000}}
    response = sg.client.post(f"/subsidies/policies/{p1['id']}/applications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    app = response.json()
    assert app["declared"]["revenue_fen"] == 1_600_000_000 and app["declared"]["tax_paid_fen"] == 10_000_000
    assert app["path"] == "auto"  # the figures do not decide 秒批; the audit compares them
    finding = scan(sg)[("APP5", app["id"])]
    assert finding.level == Level.ALARM
    assert finding.facts["declared_revenue"]["value"] == 1_600_000_000
    assert finding.facts["official_revenue"]["value"] == 1_000_000_000
    # a figure with no attestation to compare it with raises nothing (unknown, not a hit)
    _, others = applicant(sg)
    fine = sg.client.post(f"/subsidies/policies/{p2['id']}/applications", headers=others,
                          json={"requested_fen": 100_000_00, "uploads": {"audit_report": sg.upload(others)},
                                "declared": {"insured_staff": 0}})
    assert fine.status_code == 201, fine.text
    assert ("APP5", fine.json()["id"]) not in scan(sg)


# ---------------------------------------------------------------------------- APP4


def test_utility_use_from_drc_is_the_third_shell_signal(sg: SubsidyGateway, policies) -> None:
    p1, _ = policies
    young = (today(sg) - timedelta(days=100)).isoformat()
    uscc, headers = applicant(sg, established=young)
    hr = oracle_service.ingest(sg.ctx.ledger, sg.ctx.hmac_key,
                               f"uscc,month,insured_headcount\n{uscc},2026-01,0\n".encode(), f"si-{uscc}.csv",
                               data_type="SOCIAL_INSURANCE")
    assert hr.attested == 1
    app = apply(sg, p1["id"], headers)
    assert scan(sg)[("APP4", app["id"])].level == Level.WARNING  # no insured staff, less than a year old
    utility = f"uscc,year,electricity_kwh,water_tonnes\n{uscc},2025,0,3\n".encode()
    refused = sg.client.post("/oracle/files", files={"file": ("utility.csv", utility, "text/csv")},
                             headers=sg.member("TAX-admin"))
    error_of(refused, 403, "not_source_department")  # 一数一源: only DRC attests utility use
    pushed = sg.client.post("/oracle/files", files={"file": ("utility.csv", utility, "text/csv")},
                            headers=sg.member("DRC-admin"))
    assert pushed.status_code == 201, pushed.text
    assert (pushed.json()["data_type"], pushed.json()["source_department"], pushed.json()["attested"]) == \
        ("UTILITY_USE", "DRC", 1)
    finding = scan(sg)[("APP4", app["id"])]
    assert finding.level == Level.ALARM and finding.facts["utility_kwh"]["value"] == 0


# ---------------------------------------------------------------------------- REV2 / REV4


def review(sg: SubsidyGateway, app_id: str, who: str, level: int) -> None:
    response = sg.client.post(f"/subsidies/applications/{app_id}/reviews",
                              json={"level": level, "passed": True, "amount_fen": 100_000_00, "opinion": "同意"},
                              headers=sg.member(who))
    assert response.status_code == 201, response.text


def test_reviewers_declared_identity_meets_registry_shareholders_and_relatives(sg: SubsidyGateway, policies) -> None:
    p1, _ = policies
    rev1, rev2 = sg.address("SCITECH-rev1"), sg.address("SCITECH-rev2")
    error_of(sg.client.put(f"/subsidies/members/{rev1}/identity", json={"id_number": REV1_ID},
                           headers=sg.member("COMMERCE-admin")), 403, "not_own_identity")
    error_of(sg.client.put(f"/subsidies/members/{rev1}/identity", json={"id_number": "12345678901234567X"[:-1] + "Y"},
                           headers=sg.member("SCITECH-rev1")), 422, "invalid_id_number")
    own = sg.client.put(f"/subsidies/members/{rev1}/identity", json={"id_number": REV1_ID},
                        headers=sg.member("SCITECH-rev1"))
    assert own.status_code == 200, own.text
    assert own.json()["person_hash"] == "0x" + party_hash(sg.ctx.hmac_key, "", REV1_ID).hex()
    assert REV1_ID not in own.text  # only the keyed hash is kept
    by_governor = sg.client.put(f"/subsidies/members/{rev2}/identity", json={"id_number": REV2_ID},
                                headers=sg.member("SCITECH-admin"))  # SCITECH's governor
    assert by_governor.status_code == 200 and by_governor.json()["declared_by"] == sg.address("SCITECH-admin")

    _, h_direct = applicant(sg, shareholders=f"李四|{REV1_ID}")  # the reviewer holds shares in the applicant
    _, h_relative = applicant(sg, shareholders="王五|350102197001010033", relatives=f"王六|{REV2_ID}")
    direct = apply(sg, p1["id"], h_direct, manual=True)
    relative = apply(sg, p1["id"], h_relative, manual=True)
    # REV4: rev1 opens the application (first GET by a reviewer of the department) and decides at once
    opened = sg.client.get(f"/subsidies/applications/{direct['id']}", headers=sg.member("SCITECH-rev1"))
    assert opened.status_code == 200
    review(sg, direct["id"], "SCITECH-rev1", 1)
    started = sg.client.post(f"/subsidies/applications/{relative['id']}/reviews/start",
                             headers=sg.member("SCITECH-rev3"))
    assert started.status_code == 201 and started.json()["how"] == "start"
    error_of(sg.client.post(f"/subsidies/applications/{relative['id']}/reviews/start",
                            headers=sg.member("COMMERCE-admin")), 403, "not_reviewable")
    review(sg, relative["id"], "SCITECH-rev2", 1)  # a relative of the applicant's shareholder, not recused
    snap, found = scan(sg, with_snapshot=True)
    assert found[("REV2", direct["id"])].level == Level.ALARM  # direct link, no recusal
    assert found[("REV2", relative["id"])].level == Level.WARNING  # a relative
    rev4 = found[("REV4", direct["id"])]
    assert rev4.level >= Level.PROMPT and 0 <= rev4.facts["quickest_review_minutes"]["value"] < 5
    row = snap.index("applications")[relative["id"]]
    minutes = [m for a, m in zip(snap.reviews.application, snap.reviews.minutes) if a == row]
    assert minutes == [-1]  # rev2 never opened it before deciding: time spent unknown, not guessed


def test_a_recused_reviewer_is_not_a_conflict(sg: SubsidyGateway, policies) -> None:
    p1, _ = policies
    _, headers = applicant(sg, shareholders=f"李四|{REV1_ID}")
    app = apply(sg, p1["id"], headers, manual=True)
    assert sg.client.put(f"/subsidies/members/{sg.address('SCITECH-rev1')}/identity", json={"id_number": REV1_ID},
                         headers=sg.member("SCITECH-rev1")).status_code == 200
    response = sg.client.post(f"/subsidies/applications/{app['id']}/recusals", json={"reason": "本人系该企业股东"},
                              headers=sg.member("SCITECH-rev1"))
    assert response.status_code == 201, response.text
    review(sg, app["id"], "SCITECH-rev2", 1)
    assert ("REV2", app["id"]) not in scan(sg)


# ---------------------------------------------------------------------------- REV6


def test_edit_log_and_chain_comparison_raise_rev6(sg: SubsidyGateway, policies) -> None:
    p1, _ = policies
    _, h_open = applicant(sg)
    _, h_done = applicant(sg)
    pending = apply(sg, p1["id"], h_open, manual=True, name="研发中心建设", year=2026)
    signed = apply(sg, p1["id"], h_done, name="研发中心建设", year=2026)  # auto-approved: signed off
    path = "/subsidies/applications/{}/corrections"
    error_of(sg.client.post(path.format(pending["id"]), json={"changes": {"project_name": "x"}},
                            headers=sg.member("COMMERCE-admin")), 403, "not_policy_department")
    fixed = sg.client.post(path.format(pending["id"]), json={"changes": {"project_name": "研发中心建设（二期）"}},
                           headers=sg.member("SCITECH-rev1"))
    assert fixed.status_code == 200 and fixed.json()["project"]["name"] == "研发中心建设（二期）"
    error_of(sg.client.post(path.format(signed["id"]), json={"changes": {"invoice_numbers": ["INV-9"]}},
                            headers=sg.member("SCITECH-rev1")), 422, "reason_required")
    late = sg.client.post(path.format(signed["id"]), json={"changes": {"invoice_numbers": ["INV-9"]},
                                                           "reason": "企业补报发票号"},
                          headers=sg.member("SCITECH-rev1"))
    assert late.status_code == 200 and late.json()["project"]["invoice_numbers"] == ["INV-9"]
    log = sg.client.get(f"/subsidies/applications/{signed['id']}/edits", params={"kind": "edit"},
                        headers=sg.member("DISCIPLINE-admin")).json()
    assert [(e["field"], e["before"], e["after"], e["after_signoff"], e["reason"], e["by"]) for e in log] == \
        [("invoice_numbers", "[]", '["INV-9"]', True, "企业补报发票号", sg.address("SCITECH-rev1"))]
    steps = sg.client.get(f"/subsidies/applications/{signed['id']}/edits", params={"kind": "step"},
                          headers=sg.member("DISCIPLINE-admin")).json()
    assert {"status", "approved_fen"} <= {e["field"] for e in steps}  # the automatic approval, logged as a step
    found = scan(sg)
    assert found[("REV6", pending["id"])].level == Level.PROMPT  # corrected before sign-off
    assert found[("REV6", signed["id"])].level == Level.WARNING  # after sign-off, with a reason
    assert found[("REV6", signed["id"])].facts["hash_matches_chain"]["value"] == 1
    # someone raises the approved amount in the database behind the gateway's back: the chain disagrees
    with transaction(sg.ctx.sessions) as s:
        s.execute(update(SubsidyApplication).where(SubsidyApplication.id == signed["id"])
                  .values(approved_fen=150_000_00))
    tampered = scan(sg)[("REV6", signed["id"])]
    assert tampered.level == Level.ALARM and tampered.facts["hash_matches_chain"]["value"] == 0
    # the event path sees it too: the next chain event of that application compares its row with the chain
    from types import SimpleNamespace

    from audit import alerts as store
    from audit.service import event_listener, live_snapshot, verify_live

    listen = event_listener(sg.ctx)
    event = SimpleNamespace(event="UseReported", contract="SubsidyLedger", args={"applicationId": signed["id"]})
    result = listen([event])
    alert = store.alert_id_of("REV6", "application", signed["id"])
    assert alert in result.new and store.get(sg.ctx.sessions, alert).level == Level.ALARM
    assert live_snapshot(sg.ctx._audit_env).patches >= 1  # a partial load, not a full one
    # the periodic re-verification of the live snapshot does not compare every row with the chain: it leaves
    # REV6 alone rather than clearing the alarm
    verify_live(sg.ctx)
    assert store.get(sg.ctx.sessions, alert).condition == "active"
    with transaction(sg.ctx.sessions) as s:  # put it back for the tests that follow
        s.execute(update(SubsidyApplication).where(SubsidyApplication.id == signed["id"])
                  .values(approved_fen=100_000_00))


def test_a_deleted_application_row_is_an_alarm(sg: SubsidyGateway, policies) -> None:
    from gateway.subsidies.models import ApplicationNumber, SubsidyMaterial, SubsidyVerification

    p1, _ = policies
    _, headers = applicant(sg)
    app = apply(sg, p1["id"], headers, manual=True, invoice_numbers=["DEL-1"])
    with transaction(sg.ctx.sessions) as s:
        for model in (SubsidyMaterial, SubsidyVerification, ApplicationNumber):
            for child in s.query(model).filter(model.application_id == app["id"]):
                s.delete(child)
        s.flush()
        s.delete(s.get(SubsidyApplication, app["id"]))
    finding = scan(sg)[("REV6", app["id"])]
    assert finding.level == Level.ALARM
    assert finding.facts["deleted_or_unexplained_after_signoff"]["value"] == 1
    assert finding.facts["hash_matches_chain"]["value"] == 0  # the chain has it, the database does not
