"""Setting the scene for the subsidy pages' browser tests through the real gateway's HTTP API: registry facts
attested by MARKET's oracle, licences, enterprise logins, a published policy, applications, a public
notice, and the chain's clock moved forward (anvil's evm_increaseTime) so that a notice can end."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

import requests

from tests.conftest import FAST_SCRYPT
from tests.web.conftest import PASSWORD, Site

DAY = 86400
REGISTRY_HEADER = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
                   "registered_district,established\n")
_serial = itertools.count(1)


def new_uscc() -> str:
    from oracle.uscc import complete

    return complete(f"91350102{random.randrange(10**9):09d}")


def rpc(site: Site, method: str, params: list | None = None) -> Any:
    r = requests.post(site.product.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params or []}, timeout=30)
    body = r.json()
    assert "error" not in body, body
    return body["result"]


def chain_now(site: Site) -> int:
    return int(rpc(site, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def time_travel(site: Site, seconds: int) -> None:
    """Move the chain's clock forward (the notice period, deadlines) and mine a block."""
    rpc(site, "evm_increaseTime", [int(seconds)])
    rpc(site, "evm_mine")


def add_enterprise_login(site: Site, code: str) -> str:
    """A login for enterprise ``code`` written into the running gateway's database; its username."""
    from chain.config import load_settings
    from chain.db import make_engine, session_factory
    from gateway.services.users import create_user

    settings = load_settings(site.product.data_dir)
    engine = make_engine(settings.effective_database_url)
    username = f"ent-{uuid.uuid4().hex[:10]}"
    create_user(session_factory(engine), username, PASSWORD, kind="enterprise", uscc=code, scrypt_n=FAST_SCRYPT)
    engine.dispose()
    site.logins[username] = f"enterprise:{code}"
    return username


def register(site: Site, code: str, name: str, legal_representative: str = "张三",
             capital_yuan: str = "5000000") -> None:
    """The enterprise's registry entry, attested on chain by MARKET's oracle member (POST /oracle/files).
    Each firm has its own address: the web tests share one gateway, and firms at one address are an
    agent cluster (APP6) whose warning escalates to an alarm, and a payout hold, once the tests' time
    travel passes its rectification deadline."""
    serial = next(_serial)
    line = ",".join(f'"{v}"' for v in (code, name, legal_representative, capital_yuan, f"福州市鼓楼区五四路{serial}号",
                                        "软件开发;信息技术咨询服务", "active", "350102", "2015-06-01"))
    r = site.api("POST", "/oracle/files", "market", data={"data_type": "ENTERPRISE_REGISTRY"},
                 files={"file": (f"registry-web-{serial}.csv", (REGISTRY_HEADER + line + "\n").encode(),
                                 "text/csv")})
    assert r.status_code == 201, r.text


def applicant(site: Site, name: str, legal_representative: str = "张三") -> tuple[str, str]:
    """A registered enterprise with a business licence and a high-tech certificate: (USCC, username)."""
    code = new_uscc()
    register(site, code, name, legal_representative)
    for issuer, licence_type in (("market", "BUSINESS_LICENCE"), ("scitech", "HIGH_TECH_ENTERPRISE_CERTIFICATE")):
        site.issue(issuer, licence_type=licence_type, number=f"W-{uuid.uuid4().hex[:10]}", holder_uscc=code,
                   holder_name=name, valid_from="2024-01-01", valid_until="2034-12-31")
    return code, add_enterprise_login(site, code)


def upload(site: Site, username: str, content: bytes, name: str = "scan.pdf") -> str:
    r = site.api("POST", "/documents", username, files={"file": (name, content, "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()["sha256"]


def publish(site: Site, title: str, notice_workdays: int = 1) -> dict[str, Any]:
    now = chain_now(site)
    body = {
        "title": title, "legal_basis_sha256": upload(site, "scitech", f"政策文件 {uuid.uuid4()}".encode()),
        "budget_fen": 1_000_000_00, "cap_fen": 300_000_00, "opens_at": now - 60, "closes_at": now + 365 * DAY,
        "notice_workdays": notice_workdays, "payout_deadline_workdays": 15,
        "criteria": {"all": [{"fact": "status", "op": "==", "value": "active"},
                             {"fact": "registered_capital_fen", "op": ">=", "value": 1_000_000_00}]},
        "amount_rule": {"kind": "requested"},
        "materials": [{"code": "business_licence", "name": "营业执照", "licence_types": ["BUSINESS_LICENCE"]},
                      {"code": "high_tech", "name": "高新技术企业证书",
                       "licence_types": ["HIGH_TECH_ENTERPRISE_CERTIFICATE"]},
                      {"code": "audit_report", "name": "审计报告", "licence_types": []}],
    }
    r = site.api("POST", "/subsidies/policies", "scitech", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def apply(site: Site, policy_id: str, username: str, requested_fen: int,
          declared: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"requested_fen": requested_fen,
                            "uploads": {"audit_report": upload(site, username, f"审计报告 {uuid.uuid4()}".encode())}}
    if declared:
        body["declared"] = declared
    r = site.api("POST", f"/subsidies/policies/{policy_id}/applications", username, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def confirm_payee(site: Site, username: str, account_no: str, payee_name: str) -> None:
    r = site.api("PUT", "/funds/payee-account", username,
                 json={"account_no": account_no, "payee_name": payee_name, "bank_name": "中国工商银行福州分行"})
    assert r.status_code == 200, r.text


def notice_and_end(site: Site, policy_id: str, application_ids: list[str], end: bool = True) -> dict[str, Any]:
    """Put approved applications on public notice (SCITECH's policy member) and (``end``) let it run out."""
    r = site.api("POST", "/funds/notices", "scitech", json={"policy_id": policy_id, "application_ids": application_ids,
                                                           "title": "高新技术企业奖励名单公示"})
    assert r.status_code == 201, r.text
    notice = r.json()
    if end:
        end_notice(site, notice)
    return notice


def end_notice(site: Site, notice: dict[str, Any]) -> None:
    time_travel(site, max(0, notice["ends_at"] - chain_now(site)) + 60)


def paid_through_api(site: Site, policy_id: str, application_ids: list[str]) -> str:
    """Finance exports the batch and imports an all-paid bank return through the API; the batch id."""
    r = site.api("POST", "/funds/payouts/batches", "finance", json={"application_ids": application_ids})
    assert r.status_code == 201, r.text
    batch_id = r.json()["batch"]["batch_id"]
    raw = site.api("GET", f"/funds/payouts/batches/{batch_id}/file", "finance", params={"format": "csv"}).content
    r = site.api("POST", "/funds/payouts/returns", "finance",
                 files={"file": ("return.csv", bank_return(raw), "text/csv")})
    assert r.status_code == 200, r.text
    return batch_id


def bank_return(export_csv: bytes, *, failed: dict[int, str] | None = None, amounts: dict[int, int] | None = None
                ) -> bytes:
    """What the bank sends back for an exported batch file: every line paid unless ``failed`` (line → reason);
    ``amounts`` (line → fen) changes what the bank says it paid."""
    from datetime import datetime, timedelta, timezone

    from gateway.subsidies import bankfiles as bf

    control, lines = bf.read_export(export_csv)
    batch_id = control.batch_id
    failed, amounts = failed or {}, amounts or {}
    paid_at = datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0) - timedelta(hours=1)
    out = []
    for x in lines:
        line = {"line_no": x.line_no, "uscc": x.uscc, "payee_name": x.payee_name, "account_no": x.account_no,
                "amount_fen": amounts.get(x.line_no, x.amount)}
        if x.line_no in failed:
            line.update(status="failed", failure_reason=failed[x.line_no])
        else:
            line.update(status="paid", bank_reference=f"ICBC{uuid.uuid4().hex[:8]}{x.line_no:04d}",
                        paid_at=paid_at)
        out.append(line)
    return bf.write_return(batch_id, out)
