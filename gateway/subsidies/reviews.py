"""Manual review (审核): level 1 first review (初审), 2 re-review (复审), 3 sign-off (审定), each by a
different REVIEWER member of the policy's department (the contract refuses the same reviewer on two
levels, a recused reviewer, a level out of order, and a reviewer of another department), with a
deadline per level in working days; recusal declarations (回避).

Opinions and recusal reasons are stored off-chain as documents (encrypted, anchored by the documents
service); the chain holds their SHA-256 (``opinionHash`` / ``reasonHash``), so anyone holding the
opinion can check it against the chain.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.services import documents
from gateway.subsidies import applications, materials
from gateway.subsidies.models import SubsidyApplication, SubsidyRecusal, SubsidyReview
from gateway.subsidies.policies import Mined, SubsidyError, applier, b32, send_step

LEVELS = {1: "first_review", 2: "re_review", 3: "sign_off"}
REVIEWABLE = ("submitted", "under_review")


def _store_text(ctx: GatewayContext, kind: str, application_id: str, text: str, account: LocalAccount,
                department: str, **extra: Any) -> tuple[str, bytes]:
    """Store a JSON document (opinion or reason) and return (SHA-256 hex, its 32 bytes for the chain)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 20000:
        raise SubsidyError(f"invalid_{kind}", f"the {kind} must be 1-20000 characters")
    doc = {"kind": f"subsidy-{kind}", "application_id": application_id, "by": account.address,
           "department": department, "text": text, **extra}
    content = documents.canonical_json(doc)
    receipt = documents.store(ctx, content, media_type="application/json", filename=f"{kind}-{application_id}.json",
                              department=_anchoring_department(ctx, department), uploaded_by=account.address)
    return receipt["sha256"], bytes.fromhex(receipt["sha256"])


def _anchoring_department(ctx: GatewayContext, department: str) -> str:
    from chain.keystore import KeystoreError
    from gateway.context import department_signer

    try:
        department_signer(ctx.ledger, department)
        return department
    except KeystoreError:
        return ctx.settings.gateway.service_department


def record(ctx: GatewayContext, account: LocalAccount, department: str, application_id: str, level: int,
           passed: bool, amount_fen: int, opinion: str) -> SubsidyApplication:
    """Record one review level signed by the reviewer ``account``; level 3 passing approves ``amount_fen``."""
    row = applications.get(ctx, application_id)
    if level not in LEVELS:
        raise SubsidyError("invalid_level", "level is 1 (first review), 2 (re-review) or 3 (sign-off)")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
        raise SubsidyError("invalid_amount", "amount_fen must be a non-negative integer number of fen")
    if passed and level == 3 and amount_fen == 0:
        raise SubsidyError("invalid_amount", "a sign-off that passes approves an amount: amount_fen must be > 0")
    if passed and level == 3:  # no approval over a licence-backed material the chain no longer upholds
        materials.check_signoff(ctx, row)
    sha, digest = _store_text(ctx, "opinion", row.id, opinion, account, department, level=level, passed=passed,
                              amount_fen=amount_fen)
    payload = {"application_id": row.id, "policy_id": row.policy_id, "level": level, "passed": passed,
               "amount_fen": amount_fen, "sha256": sha, "by": account.address, "department": department}
    send_step(ctx, account, _contract(ctx).functions.review(b32(row.id), level, passed, amount_fen, digest),
              f"review level {level} of {row.id}", "review", payload)
    return applications.get(ctx, row.id)


@applier("review")
def _record_review(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    cal = applications.calendar(ctx)
    level, passed, by = p["level"], p["passed"], p["by"]
    app = s.get(SubsidyApplication, p["application_id"])
    due_since = _due_since(s, app, level)
    deadline = app.review_deadline_at if app.review_due_level == level and app.review_deadline_at else \
        cal.deadline_after(due_since, applications.review_workdays(ctx, level))
    s.add(SubsidyReview(application_id=app.id, policy_id=p["policy_id"], level=level, reviewer=by,
                        department=p["department"], passed=passed, amount_fen=p["amount_fen"],
                        opinion_sha256=p["sha256"], opinion_digest="0x" + p["sha256"], due_since=due_since,
                        deadline_at=deadline, reviewed_at=mined.block_timestamp,
                        overdue=mined.block_timestamp > deadline, tx_hash=mined.tx_hash))
    app.review_level = level
    app.path = "manual"
    if not passed:
        app.status, app.decided_at, app.decided_by = "rejected", mined.block_timestamp, by
        app.review_due_level = app.review_deadline_at = None
        app.decision_tx_hash = mined.tx_hash
    elif level == 3:
        app.status, app.approved_fen = "approved", p["amount_fen"]
        app.decided_at, app.decided_by, app.decision_tx_hash = mined.block_timestamp, by, mined.tx_hash
        app.review_due_level = app.review_deadline_at = None
    else:
        app.status = "under_review"
        app.review_due_level = level + 1
        app.review_deadline_at = cal.deadline_after(mined.block_timestamp,
                                                    applications.review_workdays(ctx, level + 1))


def _due_since(s, app: SubsidyApplication, level: int) -> int:
    if level == 1:
        return app.submitted_at
    prior = s.scalar(select(SubsidyReview).where(SubsidyReview.application_id == app.id,
                                                 SubsidyReview.level == level - 1))
    return prior.reviewed_at if prior is not None else app.submitted_at


def recuse(ctx: GatewayContext, account: LocalAccount, department: str, application_id: str,
           reason: str) -> SubsidyRecusal:
    """Declare the reviewer's recusal from an application; the contract then refuses its reviews."""
    row = applications.get(ctx, application_id)
    sha, digest = _store_text(ctx, "recusal", row.id, reason, account, department)
    send_step(ctx, account, _contract(ctx).functions.declareRecusal(b32(row.id), digest), f"recusal from {row.id}",
              "recusal", {"application_id": row.id, "by": account.address, "department": department, "sha256": sha})
    with ctx.sessions() as s:
        return s.scalar(select(SubsidyRecusal).where(SubsidyRecusal.application_id == row.id,
                                                     SubsidyRecusal.reviewer == account.address))


@applier("recusal")
def _record_recusal(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    s.add(SubsidyRecusal(application_id=p["application_id"], reviewer=p["by"], department=p["department"],
                         reason_sha256=p["sha256"], reason_digest="0x" + p["sha256"],
                         declared_at=mined.block_timestamp, tx_hash=mined.tx_hash))


def queue(ctx: GatewayContext, department: str, reviewer: str | None = None, now: int | None = None
          ) -> list[dict[str, Any]]:
    """Applications of ``department``'s policies awaiting a review level, soonest deadline first, with
    whether the deadline has passed and whether ``reviewer`` may take the level (not recused, no
    earlier level of the same application)."""
    now = now if now is not None else ctx.ledger.chain.now()
    with ctx.sessions() as s:
        rows = list(s.scalars(select(SubsidyApplication).where(SubsidyApplication.department == department,
                                                               SubsidyApplication.status.in_(REVIEWABLE))
                              .order_by(SubsidyApplication.review_deadline_at, SubsidyApplication.id)))
        taken: dict[str, set[str]] = {}
        for r in s.scalars(select(SubsidyReview).where(SubsidyReview.department == department)):
            taken.setdefault(r.application_id, set()).add(r.reviewer)
        recused: dict[str, set[str]] = {}
        for r in s.scalars(select(SubsidyRecusal).where(SubsidyRecusal.department == department)):
            recused.setdefault(r.application_id, set()).add(r.reviewer)
    out = []
    for row in rows:
        item = applications.summary(row)
        item["level_name"] = LEVELS.get(row.review_due_level or 0)
        item["overdue"] = bool(row.review_deadline_at and now > row.review_deadline_at)
        if reviewer:
            item["may_review"] = reviewer not in taken.get(row.id, set()) and reviewer not in recused.get(row.id, set())
        out.append(item)
    return out


def overdue(ctx: GatewayContext, now: int | None = None) -> list[dict[str, Any]]:
    """Every application whose awaited review level is past its deadline (all departments)."""
    now = now if now is not None else ctx.ledger.chain.now()
    with ctx.sessions() as s:
        rows = list(s.scalars(select(SubsidyApplication).where(SubsidyApplication.status.in_(REVIEWABLE),
                                                               SubsidyApplication.review_deadline_at < now)
                              .order_by(SubsidyApplication.review_deadline_at)))
    return [{**applications.summary(r), "level_name": LEVELS.get(r.review_due_level or 0)} for r in rows]


def _contract(ctx: GatewayContext):
    return ctx.ledger.contract("SubsidyLedger")
