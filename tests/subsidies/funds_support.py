"""Helpers of the fund tests (notices, payouts, use, trace) on the subsidy gateway ``sg`` of
tests/subsidies/conftest.py: policies published and applications approved straight through the
SubsidyLedger contract with the members' own keys (as the contract tests do), so that these tests
exercise the fund half whatever the state of the application front half; then everything after the
approval goes through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from eth_utils import keccak

from oracle.facts import CST
from oracle.keyed import subject_hash
from tests.subsidies.conftest import DAY, SubsidyGateway, new_uscc

POLICY_MEMBER, OPERATOR, FINANCE, INSPECTOR = "SCITECH-admin", "APPROVAL-admin", "FINANCE-admin", "DISCIPLINE-admin"


def _send(sg: SubsidyGateway, alias: str, fn: Any, purpose: str):
    return sg.ctx.ledger.txm.transact(sg.ctx.ledger.keyring.account(alias), fn, purpose)


def ledger(sg: SubsidyGateway) -> Any:
    return sg.ctx.ledger.contract("SubsidyLedger").functions


def publish_on_chain(sg: SubsidyGateway, budget: int = 1_000_000_00, cap: int = 300_000_00,
                     by: str = POLICY_MEMBER) -> str:
    """A policy of ``by``'s department, window open for a year, minimum notice one day; its id."""
    now = sg.now()
    pid = keccak(text=f"fund test policy {uuid.uuid4()}")
    terms = (budget, cap, now - 60, now + 365 * DAY, DAY, 15 * DAY, keccak(text="guide"), keccak(text="criteria"),
             False)
    _send(sg, by, ledger(sg).publishPolicy(pid, terms), "test policy")
    return "0x" + pid.hex()


def approved_on_chain(sg: SubsidyGateway, policy_id: str, uscc: str, amount: int) -> str:
    """An application of ``uscc`` filed and auto-approved for ``amount`` by the gateway's operator."""
    applicant = subject_hash(sg.ctx.hmac_key, uscc)
    pid = bytes.fromhex(policy_id[2:])
    _send(sg, OPERATOR, ledger(sg).submitApplication(pid, applicant, amount, keccak(text=uscc), 1), "test apply")
    app_id = ledger(sg).applicationIdOf(pid, applicant).call()
    _send(sg, OPERATOR, ledger(sg).autoApprove(app_id, amount, keccak(text="rule")), "test approve")
    return "0x" + app_id.hex()


def enterprise_with_account(sg: SubsidyGateway, account_no: str | None = None) -> tuple[str, dict[str, str]]:
    """A new enterprise login that confirmed a payee account through the API: (USCC, headers)."""
    uscc = new_uscc()
    headers = sg.enterprise(uscc)
    body = {"account_no": account_no or f"6222{uuid.uuid4().int % 10**12:012d}", "payee_name": f"测试企业{uscc[-4:]}",
            "bank_name": "中国工商银行福州分行"}
    response = sg.client.put("/funds/payee-account", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return uscc, headers


def open_notice(sg: SubsidyGateway, policy_id: str, apps: list[str], working_days: int | None = None
                ) -> dict[str, Any]:
    """Open a notice of ``working_days`` (default: the policy's notice period)."""
    body: dict[str, Any] = {"policy_id": policy_id, "application_ids": apps, "title": "2027年度高新技术企业奖励公示"}
    if working_days is not None:
        body["working_days"] = working_days
    response = sg.client.post("/funds/notices", json=body,
                              headers=sg.member(POLICY_MEMBER))
    assert response.status_code == 201, response.text
    return response.json()


def end_notice(sg: SubsidyGateway, notice: dict[str, Any]) -> None:
    """Move the chain's clock past the notice's end."""
    sg.time_travel(notice["ends_at"] - sg.now() + 1)


def noticed_and_ended(sg: SubsidyGateway, amounts: list[int], budget: int = 1_000_000_00
                      ) -> tuple[str, list[tuple[str, str, dict[str, str]]], dict[str, Any]]:
    """A policy with one approved application per amount (each enterprise with a payee account), on a
    notice that has ended: (policy id, [(application id, uscc, headers)], notice)."""
    policy_id = publish_on_chain(sg, budget=budget)
    apps = []
    for amount in amounts:
        uscc, headers = enterprise_with_account(sg)
        apps.append((approved_on_chain(sg, policy_id, uscc, amount), uscc, headers))
    notice = open_notice(sg, policy_id, [a for a, _, _ in apps])
    end_notice(sg, notice)
    return policy_id, apps, notice


def export(sg: SubsidyGateway, **body: Any) -> dict[str, Any]:
    response = sg.client.post("/funds/payouts/batches", json=body, headers=sg.member(FINANCE))
    assert response.status_code == 201, response.text
    return response.json()


def batch_file(sg: SubsidyGateway, batch_id: str, file_format: str = "csv") -> bytes:
    response = sg.client.get(f"/funds/payouts/batches/{batch_id}/file", params={"format": file_format},
                             headers=sg.member(FINANCE))
    assert response.status_code == 200, response.text
    return response.content


def bank_return(export_lines: list[Any], batch_id: str, *, failed: dict[int, str] | None = None,
                amounts: dict[int, int] | None = None, ref_prefix: str | None = None) -> list[dict[str, Any]]:
    """What the bank sends back for the exported lines: all paid unless ``failed`` (line → reason);
    ``amounts`` overrides what the bank paid on a line."""
    failed, amounts = failed or {}, amounts or {}
    prefix = ref_prefix or f"ICBC{uuid.uuid4().hex[:8]}"
    paid_at = datetime.now(CST).replace(microsecond=0) - timedelta(hours=1)
    out = []
    for x in export_lines:
        line = {"line_no": x.line_no, "uscc": x.uscc, "payee_name": x.payee_name, "account_no": x.account_no,
                "amount_fen": amounts.get(x.line_no, x.amount)}
        if x.line_no in failed:
            line.update(status="failed", failure_reason=failed[x.line_no])
        else:
            line.update(status="paid", bank_reference=f"{prefix}{x.line_no:04d}", paid_at=paid_at)
        out.append(line)
    return out


def upload_return(sg: SubsidyGateway, content: bytes, name: str = "return.csv", check: bool = False,
                  headers: dict[str, str] | None = None):
    path = "/funds/payouts/returns/check" if check else "/funds/payouts/returns"
    return sg.client.post(path, files={"file": (name, content, "application/octet-stream")},
                          headers=headers or sg.member(FINANCE))


def application(sg: SubsidyGateway, app_id: str) -> dict[str, Any]:
    from gateway.subsidies.notices import on_chain_application

    return on_chain_application(sg.ctx, app_id)
