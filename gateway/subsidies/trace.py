"""Fund traceability, read from the chain: the indexed contract events (``chain_events``, see
chain/indexer.py) and the contracts' own state, cross-checked with the gateway's tables.

- A policy: budget → approved → noticed → paid → used → clawed back, each stage summed from the
  events and compared, to the fen, with the contract's totals and with the gateway's records.
- An enterprise: every subsidy it applied for or was enrolled in, across departments and years.
- A payout (an application, or a payout batch): the chain of custody — every step with its
  signer, the signer's department, the block time and the transaction hash.

Before reading, the event index is brought up to the chain head, so a trace shows every step the
chain has; the figures it reports as ``events`` come from the chain, not from SQL rows the gateway
wrote itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from eth_utils import keccak
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from chain.indexer import ChainEvent
from chain.roles import bytes32_to_code
from gateway.context import GatewayContext
from gateway.subsidies.fund_models import ClawBackRefund, ClawBack, PayoutBatch, PayoutBatchLine, UseReport
from gateway.subsidies.notices import (FundError, b32, calendar, on_chain_application, on_chain_policy)
from oracle.keyed import subject_hash

SIGNER_ARGS = ("by", "reviewer")
STEP_NAMES = {
    "PolicyPublished": "policy published", "PolicyAmended": "policy amended", "PolicyClosed": "policy closed",
    "ApplicationSubmitted": "application filed", "ApplicationEnrolled": "enrolled (no application)",
    "ReviewRecorded": "review", "RecusalDeclared": "recusal", "ApplicationApproved": "approved",
    "ApplicationRejected": "rejected", "NoticeOpened": "public notice opened", "ApplicationNoticed": "on notice",
    "ObjectionFiled": "objection filed", "ObjectionAnswered": "objection answered",
    "PayoutRecorded": "paid (batch line)", "PayoutBatchRecorded": "payout batch recorded",
    "UseReported": "use reported", "ClawedBack": "clawed back", "HoldPlaced": "alarm hold placed",
    "HoldReleased": "alarm hold released",
}


# ---------------------------------------------------------------------------- event access

def catch_up(ctx: GatewayContext) -> int:
    """Index up to the chain head; returns the last indexed block."""
    indexer = ctx.ledger.indexer
    if indexer is None:
        raise FundError("no_index", "the event index is not available: the contracts are not deployed", 503)
    try:
        indexer.run_once()
    except IntegrityError:
        pass  # the background indexer wrote the same range meanwhile
    return indexer.cursor()


def indexed_events(ctx: GatewayContext, names: tuple[str, ...], *needles: str) -> list[dict[str, Any]]:
    """Indexed events named ``names`` whose arguments mention any of ``needles`` (0x hex), in chain order."""
    with ctx.sessions() as s:
        q = select(ChainEvent).where(ChainEvent.chain_id == ctx.ledger.chain.chain_id, ChainEvent.event.in_(names))
        if needles:
            q = q.where(or_(*[ChainEvent.args.contains(n.lower()) for n in needles]))
        rows = s.scalars(q.order_by(ChainEvent.block_number, ChainEvent.log_index))
        return [{"event": r.event, "contract": r.contract, "block": r.block_number, "time": r.block_timestamp,
                 "tx_hash": r.tx_hash, "args": json.loads(r.args)} for r in rows]


class _Signers:
    """Department of each signer address (one registry read per address)."""

    def __init__(self, ctx: GatewayContext):
        self.ctx, self.cache = ctx, {}

    def department(self, address: str) -> str | None:
        if address not in self.cache:
            active, dept, _roles = self.ctx.ledger.registry.functions.getMember(address).call()
            self.cache[address] = bytes32_to_code(dept) if active or any(dept) else None
        return self.cache[address]


def _step(e: dict[str, Any], signers: _Signers) -> dict[str, Any]:
    signer = next((e["args"][k] for k in SIGNER_ARGS if k in e["args"]), None)
    args = {k: v for k, v in e["args"].items() if k not in SIGNER_ARGS and k != "terms"}
    return {"step": STEP_NAMES.get(e["event"], e["event"]), "event": e["event"], "signer": signer,
            "signer_department": signers.department(signer) if signer else None, "time": e["time"],
            "block": e["block"], "tx_hash": e["tx_hash"], "args": args}


# ---------------------------------------------------------------------------- policy

def _stage(name: str, events: int, contract: int | None, gateway: int | None) -> dict[str, Any]:
    values = [v for v in (events, contract, gateway) if v is not None]
    return {"stage": name, "events_fen": events, "contract_fen": contract, "gateway_fen": gateway,
            "reconciled": len(set(values)) == 1}


def policy_trace(ctx: GatewayContext, policy_id: str) -> dict[str, Any]:
    """Budget → approved → noticed → paid → used → clawed back of a policy, reconciled to the fen."""
    pid = policy_id.lower()
    b32(pid, "policy_id")
    head = catch_up(ctx)
    policy = on_chain_policy(ctx, pid)  # 404 unknown_policy
    events = indexed_events(ctx, ("ApplicationApproved", "ApplicationRejected", "NoticeOpened", "PayoutRecorded",
                                  "ClawedBack", "ApplicationSubmitted", "ApplicationEnrolled"), pid)
    notices = {e["args"]["noticeId"] for e in events if e["event"] == "NoticeOpened"}
    apps: dict[str, dict[str, int | bool]] = defaultdict(lambda: {"approved": 0, "noticed": False, "paid": 0,
                                                                 "recovered": 0, "rejected": False})
    for e in events:
        a = e["args"]
        if e["event"] in ("ApplicationSubmitted", "ApplicationEnrolled"):
            apps[a["applicationId"]]  # noqa: B018 (registers the application)
        elif e["event"] == "ApplicationApproved":
            apps[a["applicationId"]]["approved"] = a["amount"]
        elif e["event"] == "ApplicationRejected" and a["level"] == 0:
            apps[a["applicationId"]]["rejected"] = True
        elif e["event"] == "PayoutRecorded":
            apps[a["applicationId"]]["paid"] += a["amount"]
        elif e["event"] == "ClawedBack":
            apps[a["applicationId"]]["recovered"] += a["amount"]
    if notices:
        for e in indexed_events(ctx, ("ApplicationNoticed",), *notices):
            if e["args"]["applicationId"] in apps:
                apps[e["args"]["applicationId"]]["noticed"] = True
    app_ids = sorted(apps)
    used = {a: 0 for a in app_ids}
    if app_ids:
        for e in indexed_events(ctx, ("UseReported",), *app_ids):
            if e["args"]["applicationId"] in used:
                used[e["args"]["applicationId"]] += e["args"]["spent"]
    chain_apps = {a: on_chain_application(ctx, a) for a in app_ids}
    approved_ev = sum(int(v["approved"]) for v in apps.values() if not v["rejected"])
    noticed_ev = sum(int(v["approved"]) for v in apps.values() if v["noticed"] and not v["rejected"])
    noticed_chain = sum(r["approved"] for r in chain_apps.values()
                        if r["status"] in ("noticed", "partially_paid", "paid"))
    paid_ev = sum(int(v["paid"]) for v in apps.values())
    recovered_ev = sum(int(v["recovered"]) for v in apps.values())
    used_ev = sum(used.values())
    with ctx.sessions() as s:
        paid_sql = sum(x.returned_amount or 0 for x in s.scalars(select(PayoutBatchLine).where(
            PayoutBatchLine.policy_id == pid, PayoutBatchLine.status.in_(("paid", "reexported")))) if x.bank_reference)
        used_sql = sum(x.amount for x in s.scalars(select(UseReport).where(UseReport.application_id.in_(app_ids))))
        orders = list(s.scalars(select(ClawBack).where(ClawBack.policy_id == pid)))
        refunds_sql = sum(r.amount for r in s.scalars(select(ClawBackRefund).where(
            ClawBackRefund.order_id.in_([o.id for o in orders]))))
    stages = [
        {"stage": "budget", "contract_fen": int(policy["terms"]["budget"]), "reconciled": True},
        _stage("approved", approved_ev, int(policy["approvedTotal"]), None),
        _stage("noticed", noticed_ev, noticed_chain, None),
        _stage("paid", paid_ev, int(policy["paidTotal"]), paid_sql),
        _stage("used", used_ev, sum(r["spent"] for r in chain_apps.values()), used_sql),
        _stage("clawed_back", recovered_ev, int(policy["recoveredTotal"]), refunds_sql),
    ]
    flow_checks = {
        "approved_within_budget": approved_ev <= policy["terms"]["budget"],
        "noticed_within_approved": noticed_ev <= approved_ev,
        "paid_within_noticed": paid_ev <= noticed_ev,
        "used_within_paid": used_ev <= paid_ev,
        "clawed_back_within_paid": recovered_ev <= paid_ev,
    }
    return {
        "policy_id": pid, "department": policy["department"], "version": policy["version"],
        "closed": policy["closed"], "indexed_to_block": head, "stages": stages, "flow_checks": flow_checks,
        "reconciled": all(s["reconciled"] for s in stages) and all(flow_checks.values()),
        "balance_fen": {"budget_unapproved": int(policy["terms"]["budget"]) - approved_ev,
                        "approved_unpaid": approved_ev - paid_ev, "paid_unused": paid_ev - used_ev,
                        "net_paid": paid_ev - recovered_ev},
        "applications": [{"application_id": a, "status": chain_apps[a]["status"],
                          "approved_fen": chain_apps[a]["approved"], "paid_fen": chain_apps[a]["paid"],
                          "spent_fen": chain_apps[a]["spent"], "recovered_fen": chain_apps[a]["recovered"]}
                         for a in app_ids],
    }


# ---------------------------------------------------------------------------- enterprise

def enterprise_trace(ctx: GatewayContext, uscc: str, department: str | None = None) -> dict[str, Any]:
    """Every subsidy of an enterprise across departments and years (only ``department``'s when given)."""
    applicant = "0x" + subject_hash(ctx.hmac_key, uscc).hex()
    head = catch_up(ctx)
    filed = indexed_events(ctx, ("ApplicationSubmitted", "ApplicationEnrolled"), applicant)
    cal = calendar(ctx)
    subsidies = []
    seen = set()
    for e in filed:
        app_id = e["args"]["applicationId"]
        if e["args"].get("applicant") != applicant or app_id in seen:
            continue
        seen.add(app_id)
        rec = on_chain_application(ctx, app_id)
        policy = on_chain_policy(ctx, rec["policyId"])
        if department is not None and policy["department"] != department:
            continue
        subsidies.append({"application_id": app_id, "policy_id": rec["policyId"],
                          "department": policy["department"], "year": cal.local_date(e["time"]).year,
                          "filed_at": e["time"], "filed_tx": e["tx_hash"], "enrolled": rec["enrolled"],
                          "status": rec["status"], "requested_fen": rec["requested"], "approved_fen": rec["approved"],
                          "paid_fen": rec["paid"], "spent_fen": rec["spent"], "recovered_fen": rec["recovered"]})
    by: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: {"subsidies": 0, "approved_fen": 0,
                                                                     "paid_fen": 0, "spent_fen": 0,
                                                                     "recovered_fen": 0})
    for x in subsidies:
        group = by[(x["department"], x["year"])]
        group["subsidies"] += 1
        for k in ("approved_fen", "paid_fen", "spent_fen", "recovered_fen"):
            group[k] += x[k]
    totals = {k: sum(x[k] for x in subsidies) for k in ("approved_fen", "paid_fen", "spent_fen", "recovered_fen")}
    return {"uscc": uscc, "applicant": applicant, "indexed_to_block": head, "subsidies": subsidies,
            "by_department_year": [{"department": d, "year": y, **v} for (d, y), v in sorted(by.items())],
            "totals": {"subsidies": len(subsidies), **totals}}


# ---------------------------------------------------------------------------- payout / custody

def application_custody(ctx: GatewayContext, application_id: str) -> dict[str, Any]:
    """Every step of an application's money with its signer, time and transaction, oldest first."""
    app_id = application_id.lower()
    head = catch_up(ctx)
    rec = on_chain_application(ctx, app_id)
    signers = _Signers(ctx)
    own = indexed_events(ctx, tuple(STEP_NAMES), app_id)
    policy_events = [e for e in indexed_events(ctx, ("PolicyPublished", "PolicyAmended", "PolicyClosed"),
                                               rec["policyId"]) if e["args"].get("policyId") == rec["policyId"]]
    notice_events = [e for e in indexed_events(ctx, ("NoticeOpened",), rec["noticeId"])
                     if e["args"].get("noticeId") == rec["noticeId"]] if int(rec["noticeId"], 16) else []
    batch_ids = sorted({e["args"]["batchId"] for e in own if e["event"] == "PayoutRecorded"})
    batch_events = indexed_events(ctx, ("PayoutBatchRecorded",), *batch_ids) if batch_ids else []
    steps = sorted(policy_events + own + notice_events + batch_events,
                   key=lambda e: (e["block"], e["tx_hash"], e["event"] != "PolicyPublished"))
    custody = [_step(e, signers) for e in steps]
    # cross-checks: the gateway's payout lines against the chain's
    lines = []
    with ctx.sessions() as s:
        sql_lines = list(s.scalars(select(PayoutBatchLine).where(PayoutBatchLine.application_id == app_id)
                                   .order_by(PayoutBatchLine.id)))
        batches = {b.chain_id: b for b in s.scalars(select(PayoutBatch).where(
            PayoutBatch.id.in_([x.batch_id for x in sql_lines])))}
    on_chain_lines = {(e["args"]["batchId"], e["args"]["lineNo"]): e for e in own if e["event"] == "PayoutRecorded"}
    batch_recorded = {e["args"]["batchId"]: e for e in batch_events}
    for x in sql_lines:
        chain_batch = next((cid for cid, b in batches.items() if b.id == x.batch_id), None)
        event = on_chain_lines.get((chain_batch, x.line_no))
        batch = batches.get(chain_batch)
        recorded = batch_recorded.get(chain_batch)
        line = {"batch_id": x.batch_id, "line_no": x.line_no, "status": x.status, "amount_fen": x.amount,
                "returned_fen": x.returned_amount, "bank_reference": x.bank_reference,
                "failure_reason": x.failure_reason, "exported_by": batch.exported_by if batch else None,
                "exported_at": batch.exported_at.isoformat() if batch else None,
                "on_chain": event is not None}
        if event is not None:
            line.update(tx_hash=event["tx_hash"], recorded_by=event["args"]["by"], recorded_at=event["time"],
                        bank_reference_matches=event["args"]["bankReference"] == "0x" + keccak(
                            text=x.bank_reference or "").hex(),
                        amount_matches=event["args"]["amount"] == x.returned_amount,
                        return_file_matches=bool(recorded and batch and recorded["args"]["returnDigest"]
                                                 == "0x" + (batch.return_sha256 or "")))
        lines.append(line)
    return {"application_id": app_id, "policy_id": rec["policyId"], "status": rec["status"],
            "indexed_to_block": head,
            "amounts_fen": {"requested": rec["requested"], "approved": rec["approved"], "paid": rec["paid"],
                            "spent": rec["spent"], "recovered": rec["recovered"]},
            "custody": custody, "payout_lines": lines,
            "signers": sorted({c["signer"] for c in custody if c["signer"]}),
            "consistent": all(x.get("bank_reference_matches", True) and x.get("amount_matches", True)
                              and x.get("return_file_matches", True) for x in lines)
            and sum(x["returned_fen"] or 0 for x in lines if x["on_chain"]) == rec["paid"]}


def batch_custody(ctx: GatewayContext, batch_id: str) -> dict[str, Any]:
    """A payout batch: who exported and imported it, the one on-chain transaction, each line's event."""
    head = catch_up(ctx)
    with ctx.sessions() as s:
        batch = s.get(PayoutBatch, batch_id)
        if batch is None:
            raise FundError("unknown_batch", f"no payout batch {batch_id!r}", 404)
        lines = list(s.scalars(select(PayoutBatchLine).where(PayoutBatchLine.batch_id == batch_id)
                               .order_by(PayoutBatchLine.line_no)))
    signers = _Signers(ctx)
    events = [e for e in indexed_events(ctx, ("PayoutBatchRecorded", "PayoutRecorded"), batch.chain_id)
              if e["args"].get("batchId") == batch.chain_id]
    recorded = next((e for e in events if e["event"] == "PayoutBatchRecorded"), None)
    by_line = {e["args"]["lineNo"]: e for e in events if e["event"] == "PayoutRecorded"}
    return {"batch_id": batch.id, "chain_batch_id": batch.chain_id, "status": batch.status,
            "indexed_to_block": head,
            "exported": {"by": batch.exported_by, "at": batch.exported_at.isoformat(), "lines": batch.line_count,
                         "total_fen": batch.total, "control_digest": batch.control_digest,
                         "reexport_of": batch.reexport_of},
            "imported": {"by": batch.imported_by, "at": batch.imported_at and batch.imported_at.isoformat(),
                         "return_sha256": batch.return_sha256},
            "on_chain": _step(recorded, signers) if recorded else None,
            "return_file_matches": bool(recorded) and recorded["args"]["returnDigest"] == "0x" + (
                batch.return_sha256 or ""),
            "lines": [{"line_no": x.line_no, "application_id": x.application_id, "uscc": x.uscc,
                       "amount_fen": x.amount, "status": x.status, "returned_fen": x.returned_amount,
                       "bank_reference": x.bank_reference, "failure_reason": x.failure_reason,
                       "reexported_in": x.reexported_in,
                       "tx_hash": by_line[x.line_no]["tx_hash"] if x.line_no in by_line else None,
                       "on_chain_fen": by_line[x.line_no]["args"]["amount"] if x.line_no in by_line else None}
                      for x in lines]}


def payout_trace(ctx: GatewayContext, payout_id: str) -> dict[str, Any]:
    """A payout by application id (0x…) or by payout batch id (e.g. PB20270105-001)."""
    if payout_id.startswith("0x"):
        return {"kind": "application", **application_custody(ctx, payout_id)}
    return {"kind": "batch", **batch_custody(ctx, payout_id)}
