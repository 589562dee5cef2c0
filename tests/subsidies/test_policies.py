"""Policies through the API: publishing (POLICY members only, legal basis anchored, criteria and
materials machine-readable), versioned amendments, closing; the eligibility rule language."""

from __future__ import annotations

import pytest

from chain.structs import call_struct
from gateway.subsidies.policies import SubsidyError, amount_for, check_rule, evaluate
from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of


def test_publish_records_terms_on_chain_and_the_legal_basis_anchored(sg) -> None:
    body = sg.policy_body()
    response = sg.client.post("/subsidies/policies", json=body, headers=sg.member("SCITECH-admin"))
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy["department"] == "SCITECH" and policy["version"] == 1 and policy["status"] == "open"
    assert policy["published_by"] == sg.address("SCITECH-admin")
    assert policy["budget_fen"] == body["budget_fen"] and policy["cap_fen"] == body["cap_fen"]
    assert policy["open_now"] is True
    assert policy["chain"] == {"version": 1, "approved_total_fen": 0, "paid_total_fen": 0, "recovered_total_fen": 0,
                               "applications": 0, "closed": False}
    assert [m["code"] for m in policy["materials"]] == ["business_licence", "high_tech", "audit_report"]
    assert policy["materials"][0]["licence_types"] == ["BUSINESS_LICENCE"]
    # the guide hash on chain is the legal-basis document's anchored leaf
    receipt = sg.client.get(f"/documents/{body['legal_basis_sha256']}", headers=sg.member("SCITECH-admin")).json()
    assert policy["guide_hash"] == receipt["leaf"]
    terms = call_struct(sg.ctx.ledger.contract("SubsidyLedger").functions.getPolicy(
        bytes.fromhex(policy["id"][2:])))["terms"]
    assert "0x" + terms["guideHash"].hex() == receipt["leaf"]
    assert "0x" + terms["criteriaHash"].hex() == policy["criteria_hash"]
    assert terms["noticePeriodSeconds"] == 5 * 86400  # floor: 5 working days are at least 5 days
    listed = sg.client.get("/subsidies/policies?department=SCITECH", headers=sg.member("FINANCE-admin")).json()
    assert policy["id"] in [p["id"] for p in listed]


def test_only_policy_members_publish(sg) -> None:
    body = sg.policy_body()
    error = error_of(sg.client.post("/subsidies/policies", json=body, headers=sg.member("SCITECH-clerk")), 403,
                     "missing_role")
    assert error["required"] == ["policy"]
    error_of(sg.client.post("/subsidies/policies", json=body, headers=sg.member("FINANCE-admin")), 403, "missing_role")
    uscc = sg.register()
    error_of(sg.client.post("/subsidies/policies", json=body, headers=sg.enterprise(uscc)), 403, "forbidden_kind")
    error_of(sg.client.post("/subsidies/policies", json=body), 401, "token_missing")


@pytest.mark.parametrize("change, status, code", [
    ({"cap_fen": 2_000_000_00}, 422, "cap_above_budget"),
    ({"budget_fen": 0}, 422, "invalid_request"),
    ({"criteria": {"all": [{"fact": "status", "op": "~", "value": 1}]}}, 422, "invalid_criteria"),
    ({"criteria": {"all": [{"fact": "status"}]}}, 422, "invalid_criteria"),
    ({"amount_rule": {"kind": "lottery"}}, 422, "invalid_amount_rule"),
    ({"no_application": True}, 422, "invalid_amount_rule"),  # no request to grant
    ({"materials": [{"code": "x", "name": "X", "licence_types": ["NO_SUCH_TYPE"]}]}, 422, "unknown_licence_type"),
    ({"materials": [{"code": "x", "name": "X"}, {"code": "x", "name": "Y"}]}, 422, "invalid_material"),
    ({"legal_basis_sha256": "ab" * 32}, 404, "legal_basis_not_found"),
    ({"legal_basis_sha256": "not a digest"}, 422, "invalid_digest"),
])
def test_bad_policy_input_is_refused_with_a_code(sg, change, status, code) -> None:
    response = sg.client.post("/subsidies/policies", json=sg.policy_body(**change), headers=sg.member("SCITECH-admin"))
    error_of(response, status, code)


def test_window_that_does_not_open_before_closing_is_refused(sg) -> None:
    now = sg.now()
    response = sg.client.post("/subsidies/policies", json=sg.policy_body(opens_at=now + 10, closes_at=now + 10),
                              headers=sg.member("SCITECH-admin"))
    error_of(response, 422, "invalid_window")


def test_amendments_are_versioned_and_only_by_the_owning_department(sg) -> None:
    policy = sg.publish()
    body = sg.policy_body(title="高新技术企业奖励（修订）", budget_fen=2_000_000_00, reason="预算调整")
    response = sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=body,
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    amended = response.json()
    assert amended["version"] == 2 and amended["chain"]["version"] == 2 and amended["budget_fen"] == 2_000_000_00
    versions = sg.client.get(f"/subsidies/policies/{policy['id']}/versions", headers=sg.member("FINANCE-admin")).json()
    assert [(v["version"], v["action"]) for v in versions] == [(1, "published"), (2, "amended")]
    assert versions[0]["terms"]["budget_fen"] == 1_000_000_00 and versions[1]["reason"] == "预算调整"
    # another department's POLICY member: refused by the contract
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=body,
                             headers=sg.member("COMMERCE-admin")), "NotPolicyDepartment")
    # switching to a no-application policy is not an amendment
    switched = sg.policy_body(no_application=True, amount_rule={"kind": "fixed", "amount_fen": 100}, reason="x")
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=switched,
                             headers=sg.member("SCITECH-admin")), "ModeChange")
    no_reason = sg.policy_body()
    error_of(sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=no_reason,
                            headers=sg.member("SCITECH-admin")), 422, "invalid_request")


def test_closing_is_recorded_and_stops_applications(sg) -> None:
    policy = sg.publish()
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/close", json={"reason": "x"},
                             headers=sg.member("COMMERCE-admin")), "NotPolicyDepartment")
    response = sg.client.post(f"/subsidies/policies/{policy['id']}/close", json={"reason": "资金用完"},
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["status"] == "closed" and closed["chain"]["closed"] and closed["open_now"] is False
    assert closed["closed_by"] == sg.address("SCITECH-admin")
    versions = sg.client.get(f"/subsidies/policies/{policy['id']}/versions", headers=sg.member("FINANCE-admin")).json()
    assert versions[-1]["action"] == "closed" and versions[-1]["reason"] == "资金用完"
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/close", json={"reason": "again"},
                             headers=sg.member("SCITECH-admin")), "PolicyIsClosed")
    _, headers = sg.applicant()
    revert_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers)}), "PolicyIsClosed")


def test_unknown_policy_and_bad_ids(sg) -> None:
    headers = sg.member("FINANCE-admin")
    error_of(sg.client.get("/subsidies/policies/0x" + "00" * 32, headers=headers), 404, "policy_not_found")
    error_of(sg.client.get("/subsidies/policies/12", headers=headers), 422, "invalid_policy_id")


# ---------------------------------------------------------------------------- the rule language

FACTS = {"status": "active", "registered_capital_fen": 5_000_000_00, "established": "2015-06-01",
         "licence_types": ["BUSINESS_LICENCE"], "business_scope": "软件开发;信息技术咨询", "revenue_fen": 80_000_000_00}


@pytest.mark.parametrize("rule, met", [
    ({"all": []}, True),
    ({"fact": "registered_capital_fen", "op": ">=", "value": 5_000_000_00}, True),
    ({"fact": "registered_capital_fen", "op": ">", "value": 5_000_000_00}, False),
    ({"fact": "established", "op": "<", "value": "2016-01-01"}, True),
    ({"fact": "status", "op": "in", "value": ["active", "abnormal"]}, True),
    ({"fact": "status", "op": "not_in", "value": ["active"]}, False),
    ({"fact": "licence_types", "op": "contains", "value": "HIGH_TECH_ENTERPRISE_CERTIFICATE"}, False),
    ({"fact": "business_scope", "op": "contains", "value": "软件"}, True),
    ({"any": [{"fact": "status", "op": "==", "value": "revoked"}, {"fact": "revenue_fen", "op": ">", "value": 1}]},
     True),
    ({"not": {"fact": "status", "op": "==", "value": "active"}}, False),
    ({"fact": "tax_credit_rating", "op": "==", "value": "A"}, False),  # not attested: never true
    ({"not": {"fact": "tax_credit_rating", "op": "==", "value": "A"}}, True),
    ({"fact": "tax_credit_rating", "op": "exists", "value": False}, True),
    ({"fact": "registered_capital_fen", "op": ">=", "value": "5"}, False),  # number against text: no
])
def test_rule_language(rule, met) -> None:
    check_rule(rule)
    assert evaluate(rule, FACTS)[0] is met


def test_rule_trace_names_every_condition() -> None:
    rule = {"all": [{"fact": "status", "op": "==", "value": "active"},
                    {"fact": "tax_credit_rating", "op": "in", "value": ["A", "B"]}]}
    met, trace = evaluate(rule, FACTS)
    assert not met
    assert [(t["fact"], t["outcome"]) for t in trace] == [("status", "met"), ("tax_credit_rating", "unknown")]


def test_amount_rules() -> None:
    assert amount_for({"kind": "requested"}, FACTS, cap=100, requested=80) == 80
    assert amount_for({"kind": "requested"}, FACTS, cap=100, requested=180) == 100
    assert amount_for({"kind": "fixed", "amount_fen": 50}, FACTS, cap=100, requested=40) == 40
    assert amount_for({"kind": "proportional", "fact": "revenue_fen", "rate_bp": 10}, FACTS, cap=10**12,
                      requested=None) == 80_000_000_00 * 10 // 10000
    assert amount_for({"kind": "proportional", "fact": "tax_paid_fen", "rate_bp": 10}, FACTS, cap=100,
                      requested=None) == 0
    with pytest.raises(SubsidyError):
        check_rule({"all": {"fact": "x"}})
