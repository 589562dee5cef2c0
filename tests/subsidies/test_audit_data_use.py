"""The data the use points need, entered through the product and seen by the audit scan: outgoing bank
flows of a recipient's account attested by FINANCE (USE2); a policy's performance commitments, the
enterprises' reports and registry facts of leaving the district (USE3); rectification and claw-back
orders with due dates and dated refunds (USE4). Three applications of one policy go from application
to payment through the API; then each point fires at its levels from that data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from audit.findings import Level
from gateway.subsidies import bankfiles as bf
from gateway.subsidies.fund_models import PayoutBatchLine
from oracle import service as oracle_service
from tests.gateway.helpers import error_of
from tests.subsidies.conftest import SubsidyGateway
from tests.subsidies.funds_support import bank_return, batch_file, end_notice, export, open_notice, upload_return
from tests.subsidies.test_audit_data_front import REV1_ID, register, scan, today

FLOW_HEADER = "uscc,reference,account_no,value_date,amount_yuan,kind,counterparty_account,counterparty_id\n"


@pytest.fixture(scope="module")
def paid(sg: SubsidyGateway) -> dict[str, Any]:
    """Policy P with three enterprises A, B, C: applied with a payee account, auto-approved, noticed, paid."""
    policy = sg.publish()
    firms = {}
    for name in "ABC":
        uscc = register(sg)
        sg.licence(uscc)
        sg.licence(uscc, "HIGH_TECH_ENTERPRISE_CERTIFICATE")
        headers = sg.enterprise(uscc)
        account = f"62220{abs(hash((uscc, name))) % 10**11:011d}"
        response = sg.client.put("/funds/payee-account", json={"account_no": account, "payee_name": "福州测试科技有限公司",
                                                               "bank_name": "中国工商银行福州分行"}, headers=headers)
        assert response.status_code == 200, response.text
        body = {"requested_fen": 100_000_00, "uploads": {"audit_report": sg.upload(headers)}}
        app = sg.client.post(f"/subsidies/policies/{policy['id']}/applications", json=body, headers=headers)
        assert app.status_code == 201 and app.json()["status"] == "approved", app.text
        firms[name] = {"uscc": uscc, "headers": headers, "account": account, "app": app.json()["id"]}
    notice = open_notice(sg, policy["id"], [f["app"] for f in firms.values()])
    end_notice(sg, notice)
    batch = export(sg, policy_id=policy["id"])["batch"]
    _, lines = bf.read_export(batch_file(sg, batch["batch_id"]))
    response = upload_return(sg, bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"])))
    assert response.status_code == 200, response.text
    with sg.ctx.sessions() as s:
        paid_at = max(ln.paid_at for ln in s.scalars(select(PayoutBatchLine).where(
            PayoutBatchLine.application_id.in_([f["app"] for f in firms.values()]))))
    received = datetime.fromtimestamp(paid_at, timezone(timedelta(hours=8))).date()
    return {"policy": policy, "firms": firms, "received": received}


def flow(firm: dict[str, Any], ref: str, day, kind: str, counterparty: str = "", holder: str = "") -> str:
    return f"{firm['uscc']},{ref},{firm['account']},{day.isoformat()},5000.00,{kind},{counterparty},{holder}\n"


def test_bank_flows_after_receipt_raise_use2(sg: SubsidyGateway, paid: dict[str, Any]) -> None:
    a, b, c = (paid["firms"][k] for k in "ABC")
    got = paid["received"]
    # the counterparty of C's transfer is held by a member who declared their identity
    assert sg.client.put(f"/subsidies/members/{sg.address('SCITECH-rev1')}/identity", json={"id_number": REV1_ID},
                         headers=sg.member("SCITECH-rev1")).status_code == 200
    old = got - timedelta(days=200)
    rows = (flow(a, "F-A1", got + timedelta(days=2), "现金")
            + flow(b, "F-B0", old, "转账", "6228480000000001")  # a long-standing supplier
            + flow(b, "F-B1", got + timedelta(days=3), "转账", "6228480000000001")
            + flow(b, "F-B2", got + timedelta(days=5), "转账", "6228480000009999")  # first paid after receipt
            + flow(c, "F-C1", got + timedelta(days=4), "转账", "6228480000007777", REV1_ID))
    raw = (FLOW_HEADER + rows).encode()
    error_of(sg.client.post("/oracle/files", files={"file": ("flows.csv", raw, "text/csv")},
                            headers=sg.member("DRC-admin")), 403, "not_source_department")
    pushed = sg.client.post("/oracle/files", files={"file": ("flows.csv", raw, "text/csv")},
                            headers=sg.member("FINANCE-admin"))
    assert pushed.status_code == 201, pushed.text
    assert (pushed.json()["data_type"], pushed.json()["attested"]) == ("BANK_FLOW", 5)
    assert "6228480000007777" not in str(oracle_service.history(sg.ctx.ledger, c["uscc"], "BANK_FLOW"))
    assert REV1_ID not in str(oracle_service.history(sg.ctx.ledger, c["uscc"], "BANK_FLOW"))
    found = scan(sg, as_of=max(today(sg), got + timedelta(days=10)))
    assert found[("USE2", a["app"])].level == Level.PROMPT  # cash withdrawal
    assert found[("USE2", b["app"])].level == Level.WARNING  # a counterparty first paid within 30 days
    assert found[("USE2", b["app"])].facts["new_counterparties"]["value"] == 1  # the old supplier is not new
    assert found[("USE2", c["app"])].level == Level.ALARM  # to an account of an official


def test_commitments_reports_and_leaving_the_district_raise_use3(sg: SubsidyGateway, paid: dict[str, Any]) -> None:
    a, b, c = (paid["firms"][k] for k in "ABC")
    now = today(sg)
    body = {"metric": "revenue_fen", "description": "年营业收入", "target": 1000, "report_due": (now + timedelta(days=10))
            .isoformat(), "period_end": (now + timedelta(days=365)).isoformat()}
    error_of(sg.client.post(f"/subsidies/policies/{paid['policy']['id']}/commitments", json=body,
                            headers=sg.member("COMMERCE-admin")), 403, "not_policy_department")
    response = sg.client.post(f"/subsidies/policies/{paid['policy']['id']}/commitments", json=body,
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 201, response.text
    report = {"metric": "revenue_fen", "achieved": 500, "note": "受市场影响"}
    error_of(sg.client.post(f"/me/subsidies/{a['app']}/performance", json=report, headers=b["headers"]), 403,
             "not_own_application")
    assert sg.client.post(f"/me/subsidies/{a['app']}/performance", json=report,
                          headers=a["headers"]).status_code == 201
    error_of(sg.client.post(f"/me/subsidies/{a['app']}/performance", json=report, headers=a["headers"]), 409,
             "already_reported")
    assert sg.client.post(f"/me/subsidies/{c['app']}/performance", json={**report, "achieved": 1200},
                          headers=c["headers"]).status_code == 201
    # C is deregistered (registry fact from MARKET) inside its commitment period
    line = ",".join(f'"{v}"' for v in (c["uscc"], "福州测试科技有限公司", "张三", "5000000", "福州市鼓楼区五四路1号",
                                        "软件开发;信息技术咨询服务", "deregistered", "350102", "2015-06-01"))
    header = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
              "registered_district,established\n")
    assert oracle_service.ingest(sg.ctx.ledger, sg.ctx.hmac_key, (header + line + "\n").encode(), "dereg.csv",
                                 data_type="ENTERPRISE_REGISTRY", observed_at=sg.now()).attested == 1
    found = scan(sg, as_of=now + timedelta(days=20))
    assert found[("USE3", a["app"])].level == Level.WARNING  # 500 of 1,000: below 80%
    assert found[("USE3", b["app"])].level == Level.PROMPT  # no report, past its due date
    assert found[("USE3", c["app"])].level == Level.ALARM  # gone inside the commitment period
    assert ("USE3", b["app"]) not in scan(sg, as_of=now + timedelta(days=5))  # not yet due: nothing late


def test_rectification_and_claw_back_due_dates_raise_use4(sg: SubsidyGateway, paid: dict[str, Any]) -> None:
    a, b, _ = (paid["firms"][k] for k in "ABC")
    now = today(sg)
    policy = sg.member("SCITECH-admin")
    error_of(sg.client.post("/funds/claw-backs", json={"application_id": a["app"], "amount_fen": 10_000_00,
                                                       "reason": "绩效未达标", "due_date": "2000-01-01"},
                            headers=policy), 422, "invalid_due_date")
    due = (now + timedelta(days=7)).isoformat()
    order = sg.client.post("/funds/claw-backs", json={"application_id": a["app"], "amount_fen": 10_000_00,
                                                      "reason": "绩效未达标", "due_date": due}, headers=policy)
    assert order.status_code == 201 and order.json()["due_date"] == due, order.text
    rect = sg.client.post(f"/subsidies/applications/{b['app']}/rectifications",
                          json={"requirement": "补交资金使用台账", "due_date": (now + timedelta(days=30)).isoformat()},
                          headers=policy)
    assert rect.status_code == 201, rect.text
    near = scan(sg, as_of=now + timedelta(days=27))
    assert near[("USE4", b["app"])].level == Level.PROMPT  # three days before its due date
    late = scan(sg, as_of=now + timedelta(days=20))
    assert late[("USE4", a["app"])].level == Level.WARNING  # the claw-back is overdue
    assert late[("USE4", a["app"])].facts["outstanding_fen"]["value"] == 10_000_00
    assert scan(sg, as_of=now + timedelta(days=120))[("USE4", a["app"])].level == Level.ALARM  # > 3 months
    # the refund settles the order (dated by its transaction); the rectification is recorded done
    refund = sg.client.post(f"/funds/claw-backs/{order.json()['id']}/refunds",
                            json={"amount_fen": 10_000_00, "bank_reference": "RF-USE4"}, headers=policy)
    assert refund.status_code == 200 and refund.json()["settled_at"] is not None, refund.text
    done = sg.client.post(f"/subsidies/rectifications/{rect.json()['id']}/done", json={"note": "台账已补交"},
                          headers=policy)
    assert done.status_code == 200 and done.json()["done_at"] is not None
    after = scan(sg, as_of=now + timedelta(days=120))
    assert ("USE4", a["app"]) not in after and ("USE4", b["app"]) not in after
