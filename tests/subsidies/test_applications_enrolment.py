"""No-application policies (免申即享) through the API: the eligible enterprises are computed from
attested facts, enrolled on chain by the policy officer (approved at once, within the budget), see
the offer and confirm their payee account (kept as a keyed hash, the payee must be the enterprise)."""

from __future__ import annotations

import uuid

from chain.structs import call_struct
from gateway.subsidies import payouts
from oracle.keyed import account_hash
from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of


def _policy(sg, token: str, budget: int = 20_000_00, amount: int = 10_000_00, **extra) -> dict:
    criteria = {"all": [{"fact": "business_scope", "op": "contains", "value": token},
                        {"fact": "status", "op": "==", "value": "active"},
                        {"fact": "registered_capital_fen", "op": ">=", "value": 1_000_000_00}]}
    return sg.publish(no_application=True, budget_fen=budget, cap_fen=amount, materials=[], criteria=criteria,
                      amount_rule={"kind": "fixed", "amount_fen": amount}, **extra)


def test_eligible_enterprises_are_enrolled_and_confirm_their_payee(sg) -> None:
    token = f"专精特新{uuid.uuid4().hex[:6]}"
    scope = f"软件开发;{token}"
    firms = [sg.register(business_scope=scope, name=f"福州免申企业{n}有限公司") for n in range(3)]
    sg.register(business_scope=scope, status="abnormal")  # not active
    sg.register(business_scope=scope, capital_yuan="10000")  # too small
    sg.register()  # not in scope
    policy = _policy(sg, token)
    response = sg.client.get(f"/subsidies/policies/{policy['id']}/eligible", headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    eligible = response.json()
    assert sorted(e["uscc"] for e in eligible) == sorted(firms)
    assert all(e["amount_fen"] == 10_000_00 and not e["enrolled"] for e in eligible)

    response = sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    report = response.json()
    # budget 20,000 yuan for 10,000 each: two enrolled, the third refused by the contract
    assert len(report["enrolled"]) == 2 and [r["error"] for r in report["refused"]] == ["BudgetExceeded"]
    chain = sg.client.get(f"/subsidies/policies/{policy['id']}", headers=sg.member("FINANCE-admin")).json()["chain"]
    assert chain["approved_total_fen"] == 20_000_00 and chain["applications"] == 2

    enrolled = report["enrolled"][0]
    headers = sg.enterprise(enrolled["uscc"])
    mine = sg.client.get("/me/subsidies", headers=headers).json()
    assert [(a["id"], a["status"], a["path"], a["action_needed"]) for a in mine] == [
        (enrolled["application_id"], "approved", "enrolled", "confirm_payee")]
    app = sg.client.get(f"/subsidies/applications/{enrolled['application_id']}", headers=headers).json()
    assert app["chain_status"] == "approved" and app["approved_fen"] == 10_000_00
    assert app["record_consistency"]["consistent"] is True, app["record_consistency"]
    assert app["decided_by"] == sg.address("SCITECH-admin") and app["enrolled"]
    on_chain = call_struct(sg.ctx.ledger.contract("SubsidyLedger").functions.getApplication(
        bytes.fromhex(enrolled["application_id"][2:])))
    assert on_chain["enrolled"] is True and on_chain["status"] == 3  # Approved

    name = next(e["name"] for e in eligible if e["uscc"] == enrolled["uscc"])
    error_of(sg.client.post(f"/me/subsidies/{enrolled['application_id']}/payee",
                            json={"account_no": "6222 0202 0000 1234 567", "payee_name": "张三",
                                  "bank_name": "中国工商银行福州分行"}, headers=headers),
             422, "payee_name_differs")
    error_of(sg.client.post(f"/me/subsidies/{enrolled['application_id']}/payee",
                            json={"account_no": "6222 0202 0000 1234 567", "payee_name": name,
                                  "bank_name": "中国工商银行福州分行"},
                            headers=sg.enterprise(firms[2] if enrolled["uscc"] != firms[2] else firms[0])),
             403, "not_applicant")
    response = sg.client.post(f"/me/subsidies/{enrolled['application_id']}/payee",
                              json={"account_no": "6222 0202 0000 1234 567", "payee_name": name,
                                    "bank_name": "中国工商银行福州分行"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["payee_confirmed_at"] and response.json()["action_needed"] is None
    detail = sg.client.get(f"/subsidies/applications/{enrolled['application_id']}", headers=headers).json()
    assert detail["payee_account_hash"] == "0x" + account_hash(sg.ctx.hmac_key, "6222020200001234567").hex()
    assert "1234567" not in str(detail)
    # the payee store finance exports from has it too (the account encrypted, a keyed hash in the row)
    payee = payouts.current_payee(sg.ctx, enrolled["uscc"])
    assert payee.account_hash == detail["payee_account_hash"] and payee.bank_name == "中国工商银行福州分行"

    # a second run enrols nobody twice
    again = sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={"uscc": [enrolled["uscc"]]},
                           headers=sg.member("SCITECH-admin")).json()
    assert again["enrolled"] == [] and again["refused"] == []


def test_only_the_policy_department_enrols(sg) -> None:
    token = f"免申{uuid.uuid4().hex[:6]}"
    sg.register(business_scope=token)
    policy = _policy(sg, token)
    error_of(sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                            headers=sg.member("SCITECH-rev1")), 403, "missing_role")
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                             headers=sg.member("COMMERCE-admin")), "NotPolicyDepartment")
    uscc = sg.register()
    error_of(sg.client.get(f"/subsidies/policies/{policy['id']}/eligible", headers=sg.enterprise(uscc)), 403,
             "forbidden_kind")
    ordinary = sg.publish()
    error_of(sg.client.get(f"/subsidies/policies/{ordinary['id']}/eligible", headers=sg.member("SCITECH-admin")), 409,
             "not_no_application_policy")


def test_enrolment_outside_the_window_is_refused(sg) -> None:
    token = f"窗口{uuid.uuid4().hex[:6]}"
    sg.register(business_scope=token)
    now = sg.now()
    policy = _policy(sg, token, opens_at=now + 10 * 86400, closes_at=now + 20 * 86400)
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                             headers=sg.member("SCITECH-admin")), "OutsideWindow")
