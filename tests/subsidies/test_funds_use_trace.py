"""Use of funds, claw-back and the fund trace through the HTTP API on eth-tester: usage reports with
anchored receipts (never above what was received), claw-back orders and refunds recorded on-chain,
and the trace of a policy (budget → approved → noticed → paid → used → clawed back, reconciled to
the fen from the chain's events, the contract's totals and the gateway's records), of an enterprise
across departments and years, and of a payout (every signer, time and transaction) — with who may
read which."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.subsidies import bankfiles as bf
from tests.gateway.helpers import error_of
from tests.subsidies.conftest import SubsidyGateway, new_uscc
from tests.subsidies.funds_support import (FINANCE, INSPECTOR, OPERATOR, POLICY_MEMBER, application, approved_on_chain,
                                           bank_return, batch_file, end_notice, export, open_notice, publish_on_chain,
                                           upload_return)


def _pay(sg: SubsidyGateway, policy_id: str, failed: dict[int, str] | None = None) -> dict[str, Any]:
    batch = export(sg, policy_id=policy_id)["batch"]
    _, lines = bf.read_export(batch_file(sg, batch["batch_id"]))
    response = upload_return(sg, bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"],
                                                                                failed=failed)))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(sg: SubsidyGateway) -> dict[str, Any]:
    """Two SCITECH policies and one COMMERCE policy. ACME: approved 200,000 yuan under P1, paid,
    reported 120,000 used, 30,000 clawed back; BETA: approved 50,000 under P1, its payout failed;
    GAMMA: approved under P1 and rejected by an upheld objection. ACME also has a COMMERCE subsidy."""
    import uuid

    from tests.subsidies.funds_support import enterprise_with_account

    p1 = publish_on_chain(sg, budget=500_000_00)
    commerce = publish_on_chain(sg, by="COMMERCE-admin")
    acme, acme_headers = enterprise_with_account(sg)
    beta, beta_headers = enterprise_with_account(sg)
    gamma, _ = enterprise_with_account(sg)
    apps = {"acme": approved_on_chain(sg, p1, acme, 200_000_00), "beta": approved_on_chain(sg, p1, beta, 50_000_00),
            "gamma": approved_on_chain(sg, p1, gamma, 70_000_00),
            "acme_commerce": approved_on_chain(sg, commerce, acme, 30_000_00)}
    notice = open_notice(sg, p1, [apps["acme"], apps["beta"], apps["gamma"]])
    path = f"/funds/notices/{notice['notice_id']}/objections"
    assert sg.client.post(path, json={"application_id": apps["gamma"], "text": "虚报"},
                          headers=acme_headers).status_code == 201
    assert sg.client.post(f"{path}/1/answer", json={"answer": "属实", "upheld": True},
                          headers=sg.member(POLICY_MEMBER)).status_code == 200
    end_notice(sg, notice)
    paid = _pay(sg, p1, failed={2: "账户冻结"})
    receipts = [sg.upload(acme_headers, f"发票 {uuid.uuid4()}".encode()) for _ in range(2)]
    return {"p1": p1, "commerce": commerce, "acme": acme, "beta": beta, "gamma": gamma, "apps": apps,
            "acme_headers": acme_headers, "beta_headers": beta_headers, "receipts": receipts, "paid": paid,
            "notice": notice}


def test_an_enterprise_reports_use_with_anchored_receipts(sg: SubsidyGateway, world: dict[str, Any]) -> None:
    app, headers = world["apps"]["acme"], world["acme_headers"]
    body = {"application_id": app, "category": "equipment", "amount_fen": 120_000_00, "description": "采购研发设备",
            "receipts": world["receipts"]}
    response = sg.client.post("/funds/use-reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    report = response.json()
    assert application(sg, app)["spent"] == 120_000_00 and report["tx_hash"]
    on_chain = sg.ctx.ledger.contract("SubsidyLedger").events.UseReported().process_receipt(
        sg.ctx.ledger.chain.w3.eth.get_transaction_receipt(report["tx_hash"]))[0]["args"]
    assert on_chain["reportHash"].hex() == report["report_sha256"] and on_chain["category"] == 1
    # more than received: the contract's SpendAboveReceived
    error = error_of(sg.client.post("/funds/use-reports", json={**body, "amount_fen": 80_000_01}, headers=headers),
                     409, "contract_revert")
    assert error["error"] == "SpendAboveReceived"
    # receipts must be the enterprise's own documents; categories are the configured ones
    other = sg.upload(world["beta_headers"])
    error_of(sg.client.post("/funds/use-reports", json={**body, "amount_fen": 1, "receipts": [other]},
                            headers=headers), 403, "not_own_receipt")
    error_of(sg.client.post("/funds/use-reports", json={**body, "amount_fen": 1, "receipts": ["ab" * 32]},
                            headers=headers), 422, "unknown_receipt")
    error_of(sg.client.post("/funds/use-reports", json={**body, "category": "yachts"}, headers=headers), 422,
             "unknown_category")
    error_of(sg.client.post("/funds/use-reports", json={**body, "amount_fen": 1, "receipts": []}, headers=headers),
             422, "receipts_required")
    # only for its own subsidy, only by the enterprise
    error_of(sg.client.post("/funds/use-reports", json={**body, "application_id": world["apps"]["beta"]},
                            headers=headers), 403, "not_own_application")
    error_of(sg.client.post("/funds/use-reports", json=body, headers=sg.member(OPERATOR)), 403, "forbidden_kind")
    listed = sg.client.get(f"/funds/applications/{app}/use-reports", headers=headers).json()
    assert [(r["category"], r["amount_fen"]) for r in listed] == [("equipment", 120_000_00)]
    error_of(sg.client.get(f"/funds/applications/{app}/use-reports", headers=world["beta_headers"]), 403,
             "not_own_application")


def test_claw_back_orders_and_refunds(sg: SubsidyGateway, world: dict[str, Any]) -> None:
    app = world["apps"]["acme"]
    policy = sg.member(POLICY_MEMBER)
    error_of(sg.client.post("/funds/claw-backs", json={"application_id": app, "amount_fen": 1, "reason": "x"},
                            headers=sg.member("COMMERCE-admin")), 403, "not_policy_department")
    error_of(sg.client.post("/funds/claw-backs", json={"application_id": app, "amount_fen": 200_000_01,
                                                       "reason": "x"}, headers=policy), 409, "claw_back_above_paid")
    error_of(sg.client.post("/funds/claw-backs", json={"application_id": world["apps"]["beta"], "amount_fen": 1,
                                                       "reason": "x"}, headers=policy), 409, "not_paid")
    response = sg.client.post("/funds/claw-backs", json={"application_id": app, "amount_fen": 30_000_00,
                                                         "reason": "审计发现部分资金挪用"}, headers=policy)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["refunded_fen"]) == ("ordered", 0)
    assert application(sg, app)["recovered"] == 0  # an order is not money back yet
    refunds = f"/funds/claw-backs/{order['id']}/refunds"
    response = sg.client.post(refunds, json={"amount_fen": 20_000_00, "bank_reference": "RF001"}, headers=policy)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "partly_refunded"
    error_of(sg.client.post(refunds, json={"amount_fen": 10_000_01, "bank_reference": "RF002"}, headers=policy),
             409, "refund_above_order")
    done = sg.client.post(refunds, json={"amount_fen": 10_000_00, "bank_reference": "RF002"}, headers=policy).json()
    assert (done["status"], done["refunded_fen"], len(done["refunds"])) == ("refunded", 30_000_00, 2)
    assert application(sg, app)["recovered"] == 30_000_00
    error_of(sg.client.post(refunds, json={"amount_fen": 1, "bank_reference": "x"}, headers=sg.member(FINANCE)),
             403, "missing_role")


def test_the_policy_trace_reconciles_every_stage_to_the_fen(sg: SubsidyGateway, world: dict[str, Any]) -> None:
    response = sg.client.get(f"/funds/trace/policies/{world['p1']}", headers=sg.member(INSPECTOR))
    assert response.status_code == 200, response.text
    trace = response.json()
    stages = {s["stage"]: s for s in trace["stages"]}
    assert stages["budget"]["contract_fen"] == 500_000_00
    assert stages["approved"]["events_fen"] == stages["approved"]["contract_fen"] == 250_000_00  # gamma rejected
    assert stages["noticed"]["events_fen"] == 250_000_00
    assert stages["paid"]["events_fen"] == stages["paid"]["contract_fen"] == stages["paid"]["gateway_fen"] == \
        200_000_00  # beta's line failed
    used = stages["used"]["events_fen"]
    recovered = stages["clawed_back"]["events_fen"]
    assert used == stages["used"]["contract_fen"] == stages["used"]["gateway_fen"]
    assert recovered == stages["clawed_back"]["contract_fen"] == stages["clawed_back"]["gateway_fen"]
    assert trace["reconciled"] is True and all(trace["flow_checks"].values())
    assert trace["balance_fen"]["approved_unpaid"] == 50_000_00
    statuses = {a["application_id"]: a["status"] for a in trace["applications"]}
    assert statuses == {world["apps"]["acme"]: "paid", world["apps"]["beta"]: "noticed",
                        world["apps"]["gamma"]: "rejected"}
    # the policy's own department may read it, others may not; enterprises never
    assert sg.client.get(f"/funds/trace/policies/{world['p1']}", headers=sg.member(POLICY_MEMBER)).status_code == 200
    error_of(sg.client.get(f"/funds/trace/policies/{world['p1']}", headers=sg.member("COMMERCE-admin")), 403,
             "forbidden")
    error_of(sg.client.get(f"/funds/trace/policies/{world['p1']}", headers=world["acme_headers"]), 403,
             "forbidden_kind")
    error_of(sg.client.get("/funds/trace/policies/0x" + "ab" * 32, headers=sg.member(INSPECTOR)), 404,
             "unknown_policy")


def test_the_policy_trace_notices_a_gateway_record_the_chain_does_not_have(sg: SubsidyGateway,
                                                                           world: dict[str, Any]) -> None:
    """The SQL side is an index, not the authority: a paid line the chain never recorded shows up."""
    from chain.db import transaction
    from gateway.subsidies.fund_models import PayoutBatchLine

    with transaction(sg.ctx.sessions) as s:
        line = PayoutBatchLine(batch_id="PB-FORGED", line_no=1, application_id=world["apps"]["beta"],
                               policy_id=world["p1"], uscc=world["beta"], payee_account_id=0, account_hash="0x00",
                               amount=50_000_00, status="paid", returned_amount=50_000_00, bank_reference="FORGED")
        s.add(line)
    try:
        trace = sg.client.get(f"/funds/trace/policies/{world['p1']}", headers=sg.member(INSPECTOR)).json()
        paid = next(s for s in trace["stages"] if s["stage"] == "paid")
        assert (paid["events_fen"], paid["gateway_fen"], paid["reconciled"]) == (200_000_00, 250_000_00, False)
        assert trace["reconciled"] is False
    finally:
        with transaction(sg.ctx.sessions) as s:
            s.delete(s.get(PayoutBatchLine, line.id))


def test_an_enterprise_trace_covers_departments_and_years(sg: SubsidyGateway, world: dict[str, Any]) -> None:
    acme = world["acme"]
    trace = sg.client.get(f"/funds/trace/enterprises/{acme}", headers=world["acme_headers"]).json()
    assert {(x["department"], x["status"]) for x in trace["subsidies"]} == {("SCITECH", "paid"),
                                                                            ("COMMERCE", "approved")}
    assert trace["totals"]["approved_fen"] == 230_000_00 and trace["totals"]["paid_fen"] == 200_000_00
    year = trace["subsidies"][0]["year"]
    assert {(g["department"], g["year"], g["subsidies"]) for g in trace["by_department_year"]} == {
        ("COMMERCE", year, 1), ("SCITECH", year, 1)}
    inspector = sg.client.get(f"/funds/trace/enterprises/{acme}", headers=sg.member(INSPECTOR)).json()
    assert inspector["totals"] == trace["totals"]
    # a policy department sees the enterprise's subsidies of its own policies only
    commerce = sg.client.get(f"/funds/trace/enterprises/{acme}", headers=sg.member("COMMERCE-admin")).json()
    assert [x["department"] for x in commerce["subsidies"]] == ["COMMERCE"]
    error_of(sg.client.get(f"/funds/trace/enterprises/{acme}", headers=world["beta_headers"]), 403,
             "not_own_enterprise")
    error_of(sg.client.get(f"/funds/trace/enterprises/{acme}", headers=sg.member(OPERATOR)), 403, "forbidden")
    assert sg.client.get(f"/funds/trace/enterprises/{new_uscc()}", headers=sg.member(INSPECTOR)).json()[
        "subsidies"] == []


def test_a_payout_trace_shows_every_signer_time_and_transaction(sg: SubsidyGateway, world: dict[str, Any]) -> None:
    app = world["apps"]["acme"]
    trace = sg.client.get(f"/funds/trace/payouts/{app}", headers=sg.member(INSPECTOR)).json()
    steps = [(c["event"], c["signer_department"]) for c in trace["custody"]]
    for expected in [("PolicyPublished", "SCITECH"), ("ApplicationSubmitted", "APPROVAL"),
                     ("ApplicationApproved", "APPROVAL"), ("NoticeOpened", "SCITECH"),
                     ("PayoutRecorded", "FINANCE"), ("PayoutBatchRecorded", "FINANCE")]:
        assert expected in steps, (expected, steps)
    order = [e for e, _ in steps]
    assert order.index("PolicyPublished") < order.index("ApplicationSubmitted") < order.index("NoticeOpened") \
        < order.index("PayoutRecorded")
    assert all(c["tx_hash"].startswith("0x") and c["time"] > 0 for c in trace["custody"])
    assert {sg.address(a) for a in (POLICY_MEMBER, OPERATOR, FINANCE)} <= set(trace["signers"])
    (line,) = trace["payout_lines"]
    assert line["on_chain"] and line["bank_reference_matches"] and line["amount_matches"] \
        and line["return_file_matches"]
    assert trace["consistent"] is True
    # by batch: one on-chain transaction for the batch, the failed line without one
    batch = sg.client.get(f"/funds/trace/payouts/{line['batch_id']}", headers=sg.member(FINANCE)).json()
    assert batch["on_chain"]["signer_department"] == "FINANCE" and batch["return_file_matches"] is True
    assert [(x["status"], x["tx_hash"] is not None) for x in batch["lines"]] == [("paid", True), ("failed", False)]
    assert len({x["tx_hash"] for x in batch["lines"] if x["tx_hash"]}) == 1
    # the enterprise reads its own payout, not another's; a batch is for finance and inspectors
    assert sg.client.get(f"/funds/trace/payouts/{app}", headers=world["acme_headers"]).status_code == 200
    error_of(sg.client.get(f"/funds/trace/payouts/{app}", headers=world["beta_headers"]), 403, "not_own_application")
    error_of(sg.client.get(f"/funds/trace/payouts/{line['batch_id']}", headers=world["acme_headers"]), 403,
             "forbidden")
    error_of(sg.client.get(f"/funds/trace/payouts/{app}", headers=sg.member("COMMERCE-admin")), 403, "forbidden")
    error_of(sg.client.get("/funds/trace/payouts/0x" + "ab" * 32, headers=sg.member(INSPECTOR)), 404,
             "unknown_application")
