"""No-application enrolment (免申即享) in one transaction: the gateway enrols all eligible enterprises that
fit with one ``enrolMany``; when one would be refused it falls back to one transaction per enterprise."""

from __future__ import annotations

import uuid

from tests.subsidies.test_applications_enrolment import _policy


def test_eligible_enterprises_are_enrolled_in_one_transaction(sg) -> None:
    token = f"免申批量{uuid.uuid4().hex[:6]}"
    firms = [sg.register(business_scope=f"软件开发;{token}", name=f"福州批量企业{n}有限公司") for n in range(4)]
    policy = _policy(sg, token, budget=40_000_00)
    response = sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert sorted(e["uscc"] for e in report["enrolled"]) == sorted(firms) and report["refused"] == []
    assert len({e["tx_hash"] for e in report["enrolled"]}) == 1  # one transaction for the four
    chain = sg.client.get(f"/subsidies/policies/{policy['id']}", headers=sg.member("FINANCE-admin")).json()["chain"]
    assert chain["approved_total_fen"] == 40_000_00 and chain["applications"] == 4
    mine = sg.client.get("/me/subsidies", headers=sg.enterprise(firms[0])).json()
    assert [(a["status"], a["path"], a["action_needed"]) for a in mine] == [("approved", "enrolled", "confirm_payee")]


def test_a_refusal_in_the_batch_falls_back_to_one_transaction_each(sg) -> None:
    token = f"免申回退{uuid.uuid4().hex[:6]}"
    for n in range(3):
        sg.register(business_scope=f"软件开发;{token}", name=f"福州回退企业{n}有限公司")
    policy = _policy(sg, token, budget=20_000_00)  # room for two of the three
    report = sg.client.post(f"/subsidies/policies/{policy['id']}/enrolments", json={},
                            headers=sg.member("SCITECH-admin")).json()
    assert len(report["enrolled"]) == 2 and [r["error"] for r in report["refused"]] == ["BudgetExceeded"]
    assert len({e["tx_hash"] for e in report["enrolled"]}) == 2
