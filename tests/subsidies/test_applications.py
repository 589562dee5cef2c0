"""Applications through the API: pre-filled from the registry attestation, materials satisfied by valid
licences (uploads only for the rest), 秒批 when every field matches (formatting aside) and the rules
are met, manual review with the differences and their provenance otherwise; the contract's refusals
(window, duplicate, cap, budget) as 409 with the contract's error; the materials-saved figure."""

from __future__ import annotations

from sqlalchemy import func, select

from chain.structs import call_struct
from gateway.subsidies.calendar import WorkCalendar
from gateway.subsidies.models import SubsidyApplication
from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of


def _chain_application(sg, application_id: str) -> dict:
    fn = sg.ctx.ledger.contract("SubsidyLedger").functions.getApplication(bytes.fromhex(application_id[2:]))
    return call_struct(fn)


def got_materials_hash(sg, application_id: str) -> str:
    with sg.ctx.sessions() as s:
        return s.get(SubsidyApplication, application_id).materials_hash


def test_prefill_from_attested_facts_and_valid_licences(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant(name="福州星云软件有限公司", capital_yuan="3000000")
    response = sg.client.get(f"/subsidies/policies/{policy['id']}/prefill", headers=headers)
    assert response.status_code == 200, response.text
    pre = response.json()
    assert pre["registered"] and pre["uscc"] == uscc
    assert pre["declared"]["name"] == "福州星云软件有限公司"
    assert pre["declared"]["registered_capital_fen"] == 3_000_000_00
    assert pre["provenance"]["name"]["source_department"] == "MARKET" and pre["provenance"]["name"]["line"] == 2
    by_code = {m["code"]: m for m in pre["materials"]}
    assert by_code["business_licence"]["satisfied_by"] == "licence"
    assert by_code["business_licence"]["licence_type"] == "BUSINESS_LICENCE"
    assert by_code["high_tech"]["satisfied_by"] == "licence"
    assert by_code["audit_report"]["satisfied_by"] == "needs_upload"
    assert pre["materials_by_licence"] == 2 and pre["criteria"]["met"]
    error_of(sg.client.get(f"/subsidies/policies/{policy['id']}/prefill", headers=sg.member("SCITECH-admin")), 403,
             "forbidden_kind")


def test_all_fields_match_and_rules_met_is_approved_automatically(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant()
    app = sg.applied(policy["id"], headers, requested_fen=180_000_00)
    assert app["status"] == "approved" and app["path"] == "auto" and app["approved_fen"] == 180_000_00
    assert app["rule_version"] == policy["rule_version"] and app["verification"] == "match"
    assert app["decided_by"] == sg.address("APPROVAL-admin")
    assert app["materials"] == {"required": 3, "by_licence": 2, "uploaded": 1, "saved_ratio": 0.6667}
    assert {m["code"]: m["satisfied_by"] for m in app["material_items"]} == {
        "business_licence": "licence", "high_tech": "licence", "audit_report": "upload"}
    assert all(m["licence_number"] for m in app["material_items"] if m["satisfied_by"] == "licence")
    assert app["differences"] == []
    on_chain = _chain_application(sg, app["id"])
    assert on_chain["status"] == 3 and on_chain["approved"] == 180_000_00  # Approved
    assert "0x" + on_chain["ruleVersion"].hex() == policy["rule_version"]
    assert on_chain["decidedBy"] == sg.address("APPROVAL-admin") and on_chain["licenceRefs"] == 2
    assert "0x" + on_chain["applicant"].hex() == app["applicant"] and uscc not in app["applicant"]
    assert "0x" + on_chain["materialsHash"].hex() == got_materials_hash(sg, app["id"])
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()
    assert got["chain_status"] == "approved"
    assert got["record_consistency"] == {"consistent": True, "differences": []}


def test_a_gateway_record_edited_by_hand_is_reported(sg) -> None:
    policy = sg.publish()
    _, headers = sg.applicant()
    app = sg.applied(policy["id"], headers, requested_fen=100_000_00)
    with sg.ctx.sessions() as s:
        row = s.get(SubsidyApplication, app["id"])
        row.approved_fen, row.materials_by_licence = 250_000_00, 3
        s.commit()
    check = sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("DISCIPLINE-admin")).json()[
        "record_consistency"]
    assert check["consistent"] is False
    assert {d["field"]: (d["gateway"], d["chain"]) for d in check["differences"]} == {
        "approved_fen": (250_000_00, 100_000_00), "licence_refs": (3, 2)}


def test_formatting_only_differences_still_match(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant(name="福州（鼓楼）云端科技有限公司", address="福州市鼓楼区 五四路1号")
    declared = {"name": "福州(鼓楼)云端科技有限公司 ", "address": "福州市鼓楼区五四路１号"}
    app = sg.applied(policy["id"], headers, declared=declared)
    assert app["path"] == "auto", app["criteria"]
    outcomes = {f["field"]: f["outcome"] for f in app["verification_fields"]}
    assert outcomes == {"name": "format_only", "legal_representative": "match", "registered_capital_fen": "match",
                        "address": "format_only", "business_scope": "match"}


def test_a_real_difference_goes_to_manual_review_with_provenance(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant(legal_representative="李四")
    app = sg.applied(policy["id"], headers, declared={"legal_representative": "王五", "registered_capital_fen": 1})
    assert app["status"] == "submitted" and app["path"] == "manual" and app["verification"] == "mismatch"
    assert app["approved_fen"] is None and app["criteria"]["auto"] == {"decided": False, "refused": "fields_differ"}
    diffs = {d["field"]: d for d in app["differences"]}
    assert set(diffs) == {"legal_representative", "registered_capital_fen"}
    assert diffs["legal_representative"]["declared"] == "王五" and diffs["legal_representative"]["attested"] == "李四"
    prov = diffs["legal_representative"]["provenance"]
    assert prov["source_department"] == "MARKET" and prov["line"] == 2 and prov["file"].startswith("registry-")
    assert prov["attestation"].startswith("0x") and prov["tx_hash"].startswith("0x")
    # the first review level is due within the configured working days
    expected = WorkCalendar.from_settings(sg.ctx.settings.calendar).deadline_after(app["submitted_at"], 5)
    assert app["review_due_level"] == 1 and app["review_deadline_at"] == expected
    assert _chain_application(sg, app["id"])["status"] == 1  # Submitted


def test_rules_not_met_goes_to_manual_review(sg) -> None:
    policy = sg.publish()
    _, headers = sg.applicant(capital_yuan="100000")  # below the 1,000,000 yuan of the criteria
    app = sg.applied(policy["id"], headers)
    assert app["path"] == "manual" and app["verification"] == "match" and not app["criteria_met"]
    failed = [c for c in app["criteria"]["conditions"] if c["outcome"] != "met"]
    assert failed == [{"fact": "registered_capital_fen", "op": ">=", "value": 1_000_000_00,
                       "actual": 100_000_00, "outcome": "not_met"}]


def test_one_application_per_enterprise_per_policy(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant()
    sg.applied(policy["id"], headers)
    error = revert_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers)}),
                      "DuplicateApplication")
    assert error["args"]["applicationId"].startswith("0x")
    with sg.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SubsidyApplication)
                        .where(SubsidyApplication.uscc == uscc)) == 1


def test_outside_the_window_and_above_the_cap(sg) -> None:
    now = sg.now()
    later = sg.publish(opens_at=now + 30 * 86400, closes_at=now + 60 * 86400)
    _, headers = sg.applicant()
    error = revert_of(sg.apply(later["id"], headers, uploads={"audit_report": sg.upload(headers)}), "OutsideWindow")
    assert error["args"]["opensAt"] == now + 30 * 86400
    policy = sg.publish()
    revert_of(sg.apply(policy["id"], headers, requested_fen=300_000_01, uploads={"audit_report": sg.upload(headers)}),
              "AboveCap")
    error_of(sg.apply(policy["id"], headers, requested_fen=0), 422, "invalid_request")


def test_budget_exceeded_leaves_the_application_to_people(sg) -> None:
    policy = sg.publish(budget_fen=300_000_00, cap_fen=300_000_00)
    _, first = sg.applicant()
    assert sg.applied(policy["id"], first, requested_fen=200_000_00)["path"] == "auto"
    _, second = sg.applicant()
    app = sg.applied(policy["id"], second, requested_fen=200_000_00)
    assert app["status"] == "submitted" and app["path"] == "manual"
    assert app["criteria"]["auto"]["refused"] == "BudgetExceeded"
    assert app["review_due_level"] == 1


def test_materials_need_uploads_only_where_no_licence_stands_in(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant(high_tech=False)
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers)}), 422, "material_missing")
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers), "high_tech": "ab" * 32,
                                                      }), 404, "document_not_found")
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers), "high_tech": sg.upload(
        headers), "business_licence": sg.upload(headers)}), 422, "material_by_licence")
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers), "high_tech": sg.upload(
        headers), "tax_proof": sg.upload(headers)}), 422, "unknown_material")
    _, other = sg.applicant()
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers), "high_tech": sg.upload(
        other)}), 403, "not_uploader")
    app = sg.applied(policy["id"], headers, uploads={"audit_report": sg.upload(headers),
                                                     "high_tech": sg.upload(headers)})
    assert app["materials"] == {"required": 3, "by_licence": 1, "uploaded": 2, "saved_ratio": 0.3333}
    high_tech = next(m for m in app["material_items"] if m["code"] == "high_tech")
    assert high_tech["satisfied_by"] == "upload" and high_tech["document_leaf"].startswith("0x")


def test_a_revoked_licence_no_longer_stands_in(sg) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant()
    licences = sg.client.get("/me/licences", headers=headers).json()
    high_tech = next(lic for lic in licences if lic["licence_type"] == "HIGH_TECH_ENTERPRISE_CERTIFICATE")
    response = sg.client.post(f"/licences/{high_tech['id']}/revoke", json={"reason_code": 3},
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    pre = sg.client.get(f"/subsidies/policies/{policy['id']}/prefill", headers=headers).json()
    assert {m["code"]: m["satisfied_by"] for m in pre["materials"]}["high_tech"] == "needs_upload"


def test_who_may_apply_and_read(sg) -> None:
    policy = sg.publish()
    error_of(sg.apply(policy["id"], sg.member("APPROVAL-admin")), 403, "forbidden_kind")
    uscc, headers = sg.applicant()
    app = sg.applied(policy["id"], headers)
    _, stranger = sg.applicant()
    error_of(sg.client.get(f"/subsidies/applications/{app['id']}", headers=stranger), 403, "not_applicant")
    assert sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("DISCIPLINE-admin")).status_code \
        == 200
    mine = sg.client.get("/me/subsidies", headers=headers).json()
    assert [a["id"] for a in mine] == [app["id"]]
    listed = sg.client.get(f"/subsidies/policies/{policy['id']}/applications", headers=sg.member("FINANCE-admin"))
    assert [a["id"] for a in listed.json()] == [app["id"]]
    error_of(sg.client.get(f"/subsidies/policies/{policy['id']}/applications", headers=headers), 403,
             "forbidden_kind")
    error_of(sg.client.get("/subsidies/applications/0x" + "11" * 32, headers=headers), 404, "application_not_found")


def test_no_application_policy_takes_no_applications(sg) -> None:
    policy = sg.publish(no_application=True, amount_rule={"kind": "fixed", "amount_fen": 10_000_00}, materials=[])
    _, headers = sg.applicant()
    revert_of(sg.apply(policy["id"], headers), "NoApplicationPolicy")


def test_materials_saved_per_application_policy_and_overall(sg) -> None:
    policy = sg.publish()
    _, a = sg.applicant()
    _, b = sg.applicant(high_tech=False)
    sg.applied(policy["id"], a)
    sg.applied(policy["id"], b, uploads={"audit_report": sg.upload(b), "high_tech": sg.upload(b)})
    response = sg.client.get(f"/subsidies/materials/saved?policy_id={policy['id']}",
                             headers=sg.member("APPROVAL-admin"))
    assert response.status_code == 200, response.text
    one = response.json()
    assert one["materials_required"] == 6 and one["materials_by_licence"] == 3 and one["materials_uploaded"] == 3
    assert one["saved_ratio"] == 0.5 and one["policies"][0]["applications"] == 2
    overall = sg.client.get("/subsidies/materials/saved", headers=sg.member("APPROVAL-admin")).json()
    assert overall["materials_required"] >= 6 and policy["id"] in [p["policy_id"] for p in overall["policies"]]
    assert overall["materials_required"] == sum(p["materials_required"] for p in overall["policies"])
    assert overall["saved_ratio"] == round(overall["materials_by_licence"] / overall["materials_required"], 4)
    error_of(sg.client.get("/subsidies/materials/saved", headers=a), 403, "forbidden_kind")
