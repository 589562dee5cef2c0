"""A policy from publication to use, every step through the HTTP API (eth-tester): published by the
policy department, applied for by an enterprise with its licences (approved automatically), on a
public notice of the policy's working days, paid by finance through a bank batch and its return
file, its use reported by the enterprise — and the trace of it all reconciled to the fen."""

from __future__ import annotations

from gateway.subsidies import bankfiles as bf
from gateway.subsidies.calendar import WorkCalendar
from tests.subsidies.conftest import SubsidyGateway
from tests.subsidies.funds_support import FINANCE, INSPECTOR, POLICY_MEMBER, bank_return, upload_return


def test_publication_to_use_through_the_api(sg: SubsidyGateway) -> None:
    policy = sg.publish(notice_workdays=4)
    uscc, headers = sg.applicant()
    app = sg.applied(policy["id"], headers, requested_fen=160_000_00)
    assert app["status"] == "approved" and app["path"] == "auto"
    response = sg.client.put("/funds/payee-account", json={"account_no": "6222 0012 3456 7890", "payee_name": "测试企业",
                                                           "bank_name": "工商银行"}, headers=headers)
    assert response.status_code == 200, response.text
    # public notice: the policy's 4 working days, the list names the enterprise
    response = sg.client.post("/funds/notices", json={"policy_id": policy["id"], "application_ids": [app["id"]],
                                                      "title": "奖励名单公示"}, headers=sg.member(POLICY_MEMBER))
    assert response.status_code == 201, response.text
    notice = response.json()
    cal = WorkCalendar.from_settings(sg.ctx.settings.calendar)
    assert notice["working_days"] == 4
    assert notice["ends_at"] == cal.deadline_after(notice["opened_at"], 4)
    assert notice["entries"][0]["uscc"] == uscc and notice["entries"][0]["amount_fen"] == 160_000_00
    assert sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()["status"] == "noticed"
    # not payable while the notice runs
    response = sg.client.get("/funds/payouts/payable", params={"policy_id": policy["id"]}, headers=sg.member(FINANCE))
    assert response.json()["skipped"] == [{"application_id": app["id"], "reason": "notice_running"}]
    sg.time_travel(notice["ends_at"] - sg.now() + 1)
    # payout: export, the bank's return, one transaction
    response = sg.client.post("/funds/payouts/batches", json={"policy_id": policy["id"]}, headers=sg.member(FINANCE))
    assert response.status_code == 201, response.text
    batch = response.json()["batch"]
    raw = sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}/file", params={"format": "csv"},
                        headers=sg.member(FINANCE)).content
    _, lines = bf.read_export(raw)
    returned = bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"]))
    response = upload_return(sg, returned)
    assert response.status_code == 200, response.text
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()
    assert got["status"] == "paid"
    # use
    receipt = sg.upload(headers, "增值税发票 No.0001".encode())
    response = sg.client.post("/funds/use-reports", json={
        "application_id": app["id"], "category": "research", "amount_fen": 100_000_00,
        "description": "研发人员劳务费", "receipts": [receipt]}, headers=headers)
    assert response.status_code == 201, response.text
    # trace
    trace = sg.client.get(f"/funds/trace/policies/{policy['id']}", headers=sg.member(INSPECTOR)).json()
    assert trace["reconciled"] is True
    assert {s["stage"]: s.get("events_fen", s.get("contract_fen")) for s in trace["stages"]} == {
        "budget": policy["budget_fen"], "approved": 160_000_00, "noticed": 160_000_00, "paid": 160_000_00,
        "used": 100_000_00, "clawed_back": 0}
    custody = sg.client.get(f"/funds/trace/payouts/{app['id']}", headers=headers).json()
    assert [c["event"] for c in custody["custody"]][:1] == ["PolicyPublished"]
    assert custody["custody"][-1]["event"] == "UseReported" and custody["consistent"] is True
