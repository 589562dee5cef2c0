"""Use of funds (使用) and claw-back (追回).

An enterprise reports how it spent the money it received: a category (``[payouts] use_categories``;
the on-chain code is its position, from 1), an amount in fen, a description and its receipts —
documents it uploaded through the documents service, so each is stored encrypted and anchored. The
report itself is stored the same way and its SHA-256 goes on-chain with ``reportUse`` (signed by the
gateway's OPERATOR key on the enterprise's behalf); the contract refuses spending above what was paid.

The policy department orders a claw-back (an off-chain decision document, anchored) and records the
refunds against it; each refund is recorded on-chain with ``clawBack`` (the contract refuses more than
was paid in total), with the decision's digest as the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from chain.db import transaction
from gateway.context import GatewayContext
from gateway.documents.vault import VaultError
from gateway.services import documents
from gateway.subsidies.fund_models import ClawBack, ClawBackRefund, UseReport
from gateway.subsidies.models import Rectification, SubsidyApplication
from gateway.subsidies.notices import (FundError, b32, ledger_contract, on_chain_application, on_chain_policy,
                                       operator_key, store_json)
from oracle.keyed import subject_hash

MAX_RECEIPTS = 50


def category_code(ctx: GatewayContext, category: str) -> int:
    categories = ctx.settings.payouts.use_categories
    if category not in categories:
        raise FundError("unknown_category", f"category must be one of {', '.join(categories)}")
    return categories.index(category) + 1


def check_own(ctx: GatewayContext, uscc: str, application_id: str) -> dict[str, Any]:
    """The application's on-chain record, when it is the enterprise's own (403 otherwise)."""
    rec = on_chain_application(ctx, application_id)
    if rec["applicant"] != "0x" + subject_hash(ctx.hmac_key, uscc).hex():
        raise FundError("not_own_application", "an enterprise reports only on its own subsidies", 403)
    return rec


@dataclass
class UseDraft:
    application_id: str
    category: str
    amount_fen: int
    description: str
    receipts: list[str]


def report_use(ctx: GatewayContext, uscc: str, draft: UseDraft) -> UseReport:
    """Record an enterprise's usage report of one of its subsidies."""
    app_id = draft.application_id.lower()
    check_own(ctx, uscc, app_id)
    code = category_code(ctx, draft.category)
    if not isinstance(draft.amount_fen, int) or draft.amount_fen < 0:
        raise FundError("invalid_amount", "amount_fen is a whole number of fen, 0 or more")
    if not draft.description.strip() or len(draft.description) > 2000:
        raise FundError("invalid_description", "a description of 1-2000 characters is required")
    if len(draft.receipts) > MAX_RECEIPTS or len(set(draft.receipts)) != len(draft.receipts):
        raise FundError("invalid_receipts", f"at most {MAX_RECEIPTS} distinct receipts")
    if draft.amount_fen > 0 and not draft.receipts:
        raise FundError("receipts_required", "spending needs at least one receipt document")
    receipts = []
    for sha in draft.receipts:
        try:
            _dept, uploader = documents.owner_of(ctx, sha.lower())
        except VaultError:
            raise FundError("unknown_receipt", f"no document {sha}: upload the receipt with POST /documents first",
                            422) from None
        if uploader != uscc:
            raise FundError("not_own_receipt", f"document {sha} was not uploaded by this enterprise", 403)
        receipts.append(sha.lower())
    account = operator_key(ctx)
    sha = store_json(ctx, {"kind": "subsidy-use-report", "application_id": app_id, "category": draft.category,
                           "amount_fen": draft.amount_fen, "description": draft.description, "receipts": receipts},
                     department=ctx.settings.gateway.service_department, uploaded_by=uscc, name="use-report.json")
    fn = ledger_contract(ctx).functions.reportUse(b32(app_id), bytes.fromhex(sha), draft.amount_fen, code)
    tx = ctx.ledger.txm.transact(account, fn, f"use report {sha} of {app_id}")
    with transaction(ctx.sessions) as s:
        row = UseReport(application_id=app_id, uscc=uscc, category=draft.category, amount=draft.amount_fen,
                        description=draft.description, receipts=json.dumps(receipts), report_sha256=sha,
                        tx_hash=tx.tx_hash, reported_at=tx.block_timestamp)
        s.add(row)
    return row


def use_view(row: UseReport) -> dict[str, Any]:
    return {"id": row.id, "application_id": row.application_id, "uscc": row.uscc, "category": row.category,
            "amount_fen": row.amount, "description": row.description, "receipts": json.loads(row.receipts),
            "report_sha256": row.report_sha256, "tx_hash": row.tx_hash, "reported_at": row.reported_at}


def use_reports(ctx: GatewayContext, application_id: str) -> list[UseReport]:
    with ctx.sessions() as s:
        return list(s.scalars(select(UseReport).where(UseReport.application_id == application_id.lower())
                              .order_by(UseReport.id)))


# ---------------------------------------------------------------------------- claw-back

def order_claw_back(ctx: GatewayContext, account: LocalAccount, department: str, application_id: str,
                    amount_fen: int, reason: str, due_date: str | None = None) -> ClawBack:
    """Order the recovery of ``amount_fen`` (POLICY member of the policy's department), refundable by
    ``due_date`` (YYYY-MM-DD; default ``[audit] rectification_workdays`` working days from today). The due
    date is kept in ``subsidy_rectifications`` (USE4), completed by the refund that settles the order."""
    app_id = application_id.lower()
    rec = on_chain_application(ctx, app_id)
    if on_chain_policy(ctx, rec["policyId"])["department"] != department:
        raise FundError("not_policy_department", "only the policy's department orders a claw-back", 403)
    if rec["status"] not in ("partially_paid", "paid"):
        raise FundError("not_paid", f"application {app_id} is {rec['status']}: nothing was paid to recover", 409)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise FundError("invalid_amount", "amount_fen is a positive whole number of fen")
    with ctx.sessions() as s:
        outstanding = sum(o.ordered_amount - o.refunded for o in
                          s.scalars(select(ClawBack).where(ClawBack.application_id == app_id)))
    recoverable = rec["paid"] - rec["recovered"] - outstanding
    if amount_fen > recoverable:
        raise FundError("claw_back_above_paid", f"at most {recoverable} fen can still be ordered back "
                        f"(paid {rec['paid']}, recovered {rec['recovered']}, outstanding orders {outstanding})", 409)
    if not reason or not reason.strip() or len(reason) > 5000:
        raise FundError("invalid_reason", "a claw-back decision needs a reason of 1-5000 characters")
    due = _due(ctx, due_date)
    sha = store_json(ctx, {"kind": "subsidy-claw-back-order", "application_id": app_id, "amount_fen": amount_fen,
                           "reason": reason}, department=department, uploaded_by=account.address,
                     name="claw-back.json")
    row = front_uscc(ctx, app_id)
    with transaction(ctx.sessions) as s:
        order = ClawBack(application_id=app_id, policy_id=rec["policyId"], uscc=row, ordered_amount=amount_fen,
                         refunded=0, decision_sha256=sha, ordered_by=account.address, status="ordered")
        s.add(order)
        s.flush()
        if s.get(SubsidyApplication, app_id) is not None:  # the front half's row (always, but for bare ledgers)
            s.add(Rectification(application_id=app_id, kind="clawback", claw_back_id=order.id, department=department,
                                requirement=reason.strip()[:2000], amount_fen=amount_fen, due_date=due,
                                ordered_by=account.address))
    return order


def _due(ctx: GatewayContext, due_date: str | None) -> str:
    from datetime import date

    from gateway.subsidies.calendar import WorkCalendar

    cal = WorkCalendar.from_settings(ctx.settings.calendar)
    today = cal.local_date(ctx.ledger.chain.now())  # chain time
    if due_date is None:
        return cal.add_workdays(today, ctx.settings.audit.rectification_workdays).isoformat()
    try:
        due = date.fromisoformat(due_date)
    except (TypeError, ValueError):
        raise FundError("invalid_due_date", "due_date is a date YYYY-MM-DD") from None
    if due < today:
        raise FundError("invalid_due_date", "due_date cannot be in the past")
    return due.isoformat()


def front_uscc(ctx: GatewayContext, app_id: str) -> str | None:
    from gateway.subsidies.payouts import owner_uscc

    return owner_uscc(ctx, app_id)


def record_refund(ctx: GatewayContext, account: LocalAccount, department: str, order_id: int, amount_fen: int,
                  bank_reference: str) -> ClawBack:
    """Record money refunded against an order, on-chain with ``clawBack`` (POLICY member of the department)."""
    with ctx.sessions() as s:
        order = s.get(ClawBack, order_id)
    if order is None:
        raise FundError("unknown_claw_back", f"no claw-back order {order_id}", 404)
    if on_chain_policy(ctx, order.policy_id)["department"] != department:
        raise FundError("not_policy_department", "only the policy's department records refunds", 403)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise FundError("invalid_amount", "amount_fen is a positive whole number of fen")
    if amount_fen > order.ordered_amount - order.refunded:
        raise FundError("refund_above_order", f"the order has {order.ordered_amount - order.refunded} fen left to "
                        "refund", 409)
    if not bank_reference or len(bank_reference) > 64:
        raise FundError("invalid_bank_reference", "the refund's bank reference (1-64 characters) is required")
    fn = ledger_contract(ctx).functions.clawBack(b32(order.application_id), amount_fen,
                                                 bytes.fromhex(order.decision_sha256))
    tx = ctx.ledger.txm.transact(account, fn, f"claw back {amount_fen} of {order.application_id}")
    with transaction(ctx.sessions) as s:
        row = s.get(ClawBack, order_id)
        row.refunded += amount_fen
        row.status = "refunded" if row.refunded == row.ordered_amount else "partly_refunded"
        s.add(ClawBackRefund(order_id=order_id, amount=amount_fen, bank_reference=bank_reference,
                             recorded_by=account.address, tx_hash=tx.tx_hash, recorded_at=tx.block_timestamp))
        due = s.scalar(select(Rectification).where(Rectification.claw_back_id == order_id))
        if due is not None and row.status == "refunded":  # settled by this refund, on the transaction's date
            due.done_at = datetime.fromtimestamp(tx.block_timestamp, timezone.utc)
            due.done_by = account.address
            due.done_note = f"refunded in full ({bank_reference})"
    with ctx.sessions() as s:
        return s.get(ClawBack, order_id)


def claw_back_view(ctx: GatewayContext, order: ClawBack) -> dict[str, Any]:
    with ctx.sessions() as s:
        refunds = list(s.scalars(select(ClawBackRefund).where(ClawBackRefund.order_id == order.id)
                                 .order_by(ClawBackRefund.id)))
        due = s.scalar(select(Rectification).where(Rectification.claw_back_id == order.id))
    return {"id": order.id, "application_id": order.application_id, "policy_id": order.policy_id, "uscc": order.uscc,
            "ordered_fen": order.ordered_amount, "refunded_fen": order.refunded, "status": order.status,
            "decision_sha256": order.decision_sha256, "ordered_by": order.ordered_by,
            "ordered_at": order.ordered_at.isoformat(), "due_date": due.due_date if due else None,
            "settled_at": due.done_at.isoformat() if due and due.done_at else None,
            "refunds": [{"amount_fen": r.amount, "bank_reference": r.bank_reference, "recorded_by": r.recorded_by,
                         "tx_hash": r.tx_hash, "recorded_at": r.recorded_at} for r in refunds]}


def claw_backs(ctx: GatewayContext, application_id: str | None = None) -> list[ClawBack]:
    with ctx.sessions() as s:
        q = select(ClawBack).order_by(ClawBack.id)
        if application_id:
            q = q.where(ClawBack.application_id == application_id.lower())
        return list(s.scalars(q))
