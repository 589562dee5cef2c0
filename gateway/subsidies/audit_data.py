"""The facts the supervision points need that the subsidy workflow itself does not produce:

* the project an application is for (name, category, year) and its invoice and contract numbers (APP3);
* when a reviewer first opened an application — first GET by a reviewer of the policy's department, or
  an explicit "start review" — so time spent per review exists (REV4);
* members' conflicts-relevant identity: the keyed person hash of the officer behind a member account and
  the firms they worked for, declared by the member or their department's governor (REV2);
* corrections of application rows by a member, with a reason, logged field by field with every other
  change of a submitted row (``models.ApplicationEdit``, REV6);
* policies' performance commitments and enterprises' performance reports (USE3);
* rectification orders (整改) with due dates and their completion, and the due dates of claw-back
  orders (USE4; refunds are dated by their transactions).

All of it is off-chain (the chain holds the workflow); the audit loader (``audit.loader``) maps it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.db import transaction
from gateway.context import GatewayContext
from gateway.subsidies.models import (EDIT_CONTEXT, ApplicationEdit, ApplicationNumber, MemberIdentity,
                                      PerformanceCommitment, PerformanceReport, Rectification, ReviewOpening,
                                      SubsidyApplication, SubsidyReview)
from gateway.subsidies.policies import SubsidyError
from oracle.keyed import party_hash
from oracle.uscc import is_valid as is_valid_uscc

MAX_NUMBERS = 200
NUMBER_KINDS = ("invoice", "contract")
_NUMBER = re.compile(r"^[0-9A-Z][0-9A-Z\-/]{0,63}$")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
SIGNED_OFF = ("approved", "rejected", "noticed", "partially_paid", "paid")
#: fields a member may correct after submission (all off-chain; the chain's fields change only by steps)
CORRECTABLE = ("project_name", "project_category", "project_year", "enterprise_name", "payee_name")


# ---------------------------------------------------------------------------- project and numbers (APP3)

def normalise_number(value: str) -> str:
    """An invoice or contract number as given, NFKC, upper case, spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).upper()


def check_project(project: dict[str, Any] | None) -> dict[str, Any]:
    """Validate the project fields of an application: ``name`` (1-300), ``category`` (a lower-case code),
    ``year`` (2000-2100), ``invoice_numbers`` / ``contract_numbers`` (lists of numbers as given)."""
    if not project:
        return {}
    unknown = sorted(set(project) - {"name", "category", "year", "invoice_numbers", "contract_numbers"})
    if unknown:
        raise SubsidyError("unknown_field", f"project fields are name, category, year, invoice_numbers, "
                           f"contract_numbers; unknown {unknown}")
    out: dict[str, Any] = {}
    name = project.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name) > 300:
            raise SubsidyError("invalid_project", "project name must be 1-300 characters")
        out["name"] = name.strip()
    category = project.get("category")
    if category is not None:
        if not isinstance(category, str) or not _CATEGORY.match(category):
            raise SubsidyError("invalid_project", "project category is a lower-case code (letters, digits, _ -)")
        out["category"] = category
    year = project.get("year")
    if year is not None:
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise SubsidyError("invalid_project", "project year must be a year from 2000 to 2100")
        out["year"] = year
    for kind in NUMBER_KINDS:
        numbers = project.get(f"{kind}_numbers") or []
        if not isinstance(numbers, list) or len(numbers) > MAX_NUMBERS:
            raise SubsidyError("invalid_numbers", f"{kind}_numbers is a list of at most {MAX_NUMBERS} numbers")
        clean = [normalise_number(n) for n in numbers]
        bad = [n for n, c in zip(numbers, clean) if not isinstance(n, str) or not _NUMBER.match(c)]
        if bad:
            raise SubsidyError("invalid_numbers", f"not a {kind} number: {bad[:3]} (letters, digits, - and /, "
                               "at most 64)")
        if len(set(clean)) != len(clean):
            raise SubsidyError("duplicate_number", f"a {kind} number is listed twice")
        out[f"{kind}_numbers"] = clean
    return out


def store_project(s: Session, row: SubsidyApplication, project: dict[str, Any]) -> None:
    """Write validated project fields (``check_project``) onto a new application row."""
    row.project_name = project.get("name")
    row.project_category = project.get("category")
    row.project_year = project.get("year")
    for kind in NUMBER_KINDS:
        for number in project.get(f"{kind}_numbers", []):
            s.add(ApplicationNumber(application_id=row.id, kind=kind, number=number))


def project_of(s: Session, row: SubsidyApplication) -> dict[str, Any]:
    numbers = list(s.scalars(select(ApplicationNumber).where(ApplicationNumber.application_id == row.id)
                             .order_by(ApplicationNumber.id)))
    return {"name": row.project_name, "category": row.project_category, "year": row.project_year,
            "invoice_numbers": [n.number for n in numbers if n.kind == "invoice"],
            "contract_numbers": [n.number for n in numbers if n.kind == "contract"]}


def numbers_used_elsewhere(ctx: GatewayContext, application_id: str) -> list[dict[str, Any]]:
    """The application's invoice / contract numbers that other applications also rely on."""
    with ctx.sessions() as s:
        mine = list(s.scalars(select(ApplicationNumber).where(ApplicationNumber.application_id == application_id)))
        out = []
        for n in mine:
            for other in s.scalars(select(ApplicationNumber).where(ApplicationNumber.number == n.number,
                                                                   ApplicationNumber.kind == n.kind,
                                                                   ApplicationNumber.application_id != application_id)):
                app = s.get(SubsidyApplication, other.application_id)
                out.append({"kind": n.kind, "number": n.number, "application_id": other.application_id,
                            "policy_id": app.policy_id if app else None, "status": app.status if app else None})
    return out


# ---------------------------------------------------------------------------- corrections (REV6)

def correct(ctx: GatewayContext, by: str, department: str, application_id: str, changes: dict[str, Any],
            reason: str | None) -> SubsidyApplication:
    """A member of the policy's department corrects off-chain fields of an application (project, invoice and
    contract numbers, names). Every changed field is logged with before / after, who, when and whether the
    decision was already signed off; after sign-off a reason is required."""
    from gateway.subsidies import applications

    row = applications.get(ctx, application_id)
    if row.department != department:
        raise SubsidyError("not_policy_department", "only the policy's department corrects its applications", 403)
    if row.status == "pending":
        raise SubsidyError("application_pending", "the submission is not confirmed yet", 409)
    if reason is not None and (not reason.strip() or len(reason) > 1000):
        raise SubsidyError("invalid_reason", "the reason must be 1-1000 characters")
    signed_off = row.decided_at is not None or row.status in SIGNED_OFF
    if signed_off and not reason:
        raise SubsidyError("reason_required", "a correction after sign-off needs a reason", 422)
    unknown = sorted(set(changes) - set(CORRECTABLE) - {"invoice_numbers", "contract_numbers"})
    if unknown or not changes:
        raise SubsidyError("unknown_field", f"correctable fields are {list(CORRECTABLE)} and invoice_numbers, "
                           f"contract_numbers; got {unknown or 'nothing'}")
    project = check_project({k.removeprefix("project_"): v for k, v in changes.items()
                             if k.startswith("project_") or k.endswith("_numbers")})
    for name in ("enterprise_name", "payee_name"):
        if name in changes and (not isinstance(changes[name], str) or not changes[name].strip()
                                or len(changes[name]) > 300):
            raise SubsidyError("invalid_field", f"{name} must be 1-300 characters")
    with transaction(ctx.sessions) as s:
        s.info[EDIT_CONTEXT] = {"by": by, "reason": reason}
        try:
            app = s.get(SubsidyApplication, row.id)
            for key in ("name", "category", "year"):
                if key in project:
                    setattr(app, f"project_{key}", project[key])
            for name in ("enterprise_name", "payee_name"):
                if name in changes:
                    setattr(app, name, changes[name].strip())
            s.flush()
            for kind in NUMBER_KINDS:
                if f"{kind}_numbers" not in project:
                    continue
                old = list(s.scalars(select(ApplicationNumber).where(ApplicationNumber.application_id == app.id,
                                                                     ApplicationNumber.kind == kind)
                                     .order_by(ApplicationNumber.id)))
                before, after = [n.number for n in old], project[f"{kind}_numbers"]
                if before == after:
                    continue
                for n in old:
                    s.delete(n)
                s.flush()
                for number in after:
                    s.add(ApplicationNumber(application_id=app.id, kind=kind, number=number))
                s.add(ApplicationEdit(application_id=app.id, kind="edit", field=f"{kind}_numbers",
                                      before=json.dumps(before), after=json.dumps(after), after_signoff=signed_off,
                                      reason=reason, by=by))
            s.flush()
        finally:
            s.info.pop(EDIT_CONTEXT, None)
    return applications.get(ctx, row.id)


def edits(ctx: GatewayContext, application_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    with ctx.sessions() as s:
        q = select(ApplicationEdit).where(ApplicationEdit.application_id == application_id.lower())
        if kind:
            q = q.where(ApplicationEdit.kind == kind)
        return [{"id": e.id, "kind": e.kind, "field": e.field, "before": e.before, "after": e.after,
                 "after_signoff": e.after_signoff, "reason": e.reason, "by": e.by, "at": _iso(e.at)}
                for e in s.scalars(q.order_by(ApplicationEdit.id))]


# ---------------------------------------------------------------------------- review openings (REV4)

def open_for_review(ctx: GatewayContext, reviewer: str, department: str, roles: tuple[str, ...],
                    row: SubsidyApplication, how: str, now: int | None = None) -> dict[str, Any] | None:
    """Record the first time ``reviewer`` (a REVIEWER of the policy's department) opened ``row`` while it
    awaits review; later openings keep the first. None when the caller is not such a reviewer."""
    if "reviewer" not in roles or department != row.department or row.status not in ("submitted", "under_review"):
        if how == "start":
            raise SubsidyError("not_reviewable", "only a reviewer of the policy's department starts the review of "
                               "an application awaiting review", 409 if department == row.department else 403)
        return None
    with ctx.sessions() as s:
        have = s.scalar(select(ReviewOpening).where(ReviewOpening.application_id == row.id,
                                                    ReviewOpening.reviewer == reviewer))
        if have is not None:
            return _opening_view(have)
    at = now if now is not None else ctx.ledger.chain.now()
    try:
        with transaction(ctx.sessions) as s:
            s.add(ReviewOpening(application_id=row.id, reviewer=reviewer, department=department,
                                level=row.review_due_level, how=how, opened_at=at))
    except Exception:  # a concurrent first opening won: keep it
        pass
    with ctx.sessions() as s:
        return _opening_view(s.scalar(select(ReviewOpening).where(ReviewOpening.application_id == row.id,
                                                                  ReviewOpening.reviewer == reviewer)))


def _opening_view(o: ReviewOpening) -> dict[str, Any]:
    return {"application_id": o.application_id, "reviewer": o.reviewer, "department": o.department,
            "level": o.level, "how": o.how, "opened_at": o.opened_at}


def review_times(s: Session) -> dict[tuple[str, int], int]:
    """(application, level) -> seconds from its reviewer's first opening to the recorded review (only when
    the reviewer opened it before deciding)."""
    opened = {(o.application_id, o.reviewer): o.opened_at for o in s.scalars(select(ReviewOpening))}
    out = {}
    for r in s.scalars(select(SubsidyReview)):
        at = opened.get((r.application_id, r.reviewer))
        if at is not None and r.reviewed_at >= at:
            out[(r.application_id, r.level)] = r.reviewed_at - at
    return out


# ---------------------------------------------------------------------------- identities (REV2)

def declare_identity(ctx: GatewayContext, caller_address: str, caller_department: str | None,
                     caller_roles: tuple[str, ...], member: str, id_number: str,
                     former_employers: list[str]) -> dict[str, Any]:
    """Register the keyed person hash of the officer behind ``member`` (the member themself, or a governor of
    the member's department). The ID number is hashed at once (``party_hash``) and never stored."""
    from web3 import Web3

    if not Web3.is_address(member):
        raise SubsidyError("invalid_member", f"{member!r} is not an account address")
    member = Web3.to_checksum_address(member)
    active, department, _mask = ctx.members.get(ctx.ledger, member)
    if not active:
        raise SubsidyError("unknown_member", f"{member} is not an active alliance member", 404)
    own = member.lower() == caller_address.lower()
    if not own and not ("governor" in caller_roles and caller_department == department):
        raise SubsidyError("not_own_identity", "a member declares their own identity, or their department's "
                           "governor does", 403)
    ident = unicodedata.normalize("NFKC", id_number or "").replace(" ", "").upper()
    if not _ID_NUMBER.match(ident):
        raise SubsidyError("invalid_id_number", "id_number is an 18-character resident identity number")
    employers = []
    for uscc in former_employers or []:
        if not isinstance(uscc, str) or not is_valid_uscc(uscc):
            raise SubsidyError("invalid_uscc", f"{uscc!r} is not a valid unified social credit code")
        employers.append(uscc)
    person = "0x" + party_hash(ctx.hmac_key, "", ident).hex()
    with transaction(ctx.sessions) as s:
        row = s.get(MemberIdentity, member)
        if row is None:
            row = MemberIdentity(member=member, department=department, person_hash=person)
            s.add(row)
        row.person_hash, row.department = person, department
        row.former_employers = json.dumps(sorted(set(employers)))
        row.declared_by = caller_address
        row.declared_at = datetime.now(timezone.utc)
    return identity_of(ctx, member)


def identity_of(ctx: GatewayContext, member: str) -> dict[str, Any]:
    from web3 import Web3

    with ctx.sessions() as s:
        row = s.get(MemberIdentity, Web3.to_checksum_address(member)) if Web3.is_address(member) else None
    if row is None:
        raise SubsidyError("identity_not_declared", f"{member} has declared no identity", 404)
    return {"member": row.member, "department": row.department, "person_hash": row.person_hash,
            "former_employers": json.loads(row.former_employers), "declared_by": row.declared_by,
            "declared_at": _iso(row.declared_at)}


# ---------------------------------------------------------------------------- commitments (USE3)

def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SubsidyError("invalid_date", f"{what} must be a date YYYY-MM-DD") from None


def set_commitment(ctx: GatewayContext, by: str, department: str, policy_id: str, metric: str, description: str,
                   target: int, report_due: str, period_end: str) -> dict[str, Any]:
    """A policy's performance commitment (POLICY member of its department): ``metric`` (a code, e.g.
    ``revenue_fen``, ``jobs``), the target every funded firm commits to, the report's due date and the end of
    the commitment period (the firm must stay in the district and operate until then)."""
    from gateway.subsidies import policies

    policy = policies.get(ctx, policy_id)
    if policy.department != department:
        raise SubsidyError("not_policy_department", "only the policy's department sets its commitments", 403)
    if not isinstance(metric, str) or not _CATEGORY.match(metric):
        raise SubsidyError("invalid_metric", "metric is a lower-case code (letters, digits, _ -)")
    if not isinstance(target, int) or isinstance(target, bool) or target <= 0:
        raise SubsidyError("invalid_target", "target is a positive whole number")
    due, end = _date(report_due, "report_due"), _date(period_end, "period_end")
    if end < due:
        raise SubsidyError("invalid_date", "the commitment period ends on or after the report's due date")
    with transaction(ctx.sessions) as s:
        row = s.scalar(select(PerformanceCommitment).where(PerformanceCommitment.policy_id == policy.id,
                                                           PerformanceCommitment.metric == metric))
        if row is None:
            row = PerformanceCommitment(policy_id=policy.id, metric=metric)
            s.add(row)
        row.description, row.target = (description or metric)[:300], target
        row.report_due, row.period_end, row.set_by = due.isoformat(), end.isoformat(), by
        row.set_at = datetime.now(timezone.utc)
        s.flush()
        return _commitment_view(row)


def _commitment_view(c: PerformanceCommitment) -> dict[str, Any]:
    return {"id": c.id, "policy_id": c.policy_id, "metric": c.metric, "description": c.description,
            "target": c.target, "report_due": c.report_due, "period_end": c.period_end, "set_by": c.set_by}


def commitments(ctx: GatewayContext, policy_id: str) -> list[dict[str, Any]]:
    with ctx.sessions() as s:
        return [_commitment_view(c) for c in s.scalars(select(PerformanceCommitment).where(
            PerformanceCommitment.policy_id == policy_id.lower()).order_by(PerformanceCommitment.id))]


def report_performance(ctx: GatewayContext, uscc: str, application_id: str, metric: str, achieved: int,
                       note: str = "", document_sha256: str | None = None) -> dict[str, Any]:
    """The enterprise reports what it achieved against a commitment of its subsidy's policy (once per
    commitment; dated by the gateway)."""
    from gateway.subsidies import applications

    row = applications.get(ctx, application_id)
    if row.uscc != uscc:
        raise SubsidyError("not_own_application", "an enterprise reports only on its own subsidies", 403)
    if not isinstance(achieved, int) or isinstance(achieved, bool) or achieved < 0:
        raise SubsidyError("invalid_achieved", "achieved is a whole number, 0 or more")
    if len(note or "") > 2000:
        raise SubsidyError("invalid_note", "the note is at most 2000 characters")
    with transaction(ctx.sessions) as s:
        c = s.scalar(select(PerformanceCommitment).where(PerformanceCommitment.policy_id == row.policy_id,
                                                         PerformanceCommitment.metric == metric))
        if c is None:
            raise SubsidyError("unknown_commitment", f"the policy has no commitment {metric!r}", 404)
        if s.scalar(select(PerformanceReport.id).where(PerformanceReport.application_id == row.id,
                                                       PerformanceReport.commitment_id == c.id)) is not None:
            raise SubsidyError("already_reported", f"{metric} is already reported for this application", 409)
        rep = PerformanceReport(application_id=row.id, commitment_id=c.id, uscc=uscc, achieved=achieved,
                                note=note or "", document_sha256=(document_sha256 or None))
        s.add(rep)
        s.flush()
        return {"id": rep.id, "application_id": row.id, "metric": metric, "target": c.target, "achieved": achieved,
                "report_due": c.report_due, "reported_at": _iso(rep.reported_at or datetime.now(timezone.utc))}


# ---------------------------------------------------------------------------- rectifications (USE4)

def order_rectification(ctx: GatewayContext, by: str, department: str, application_id: str, requirement: str,
                        due_date: str, kind: str = "rectification", amount_fen: int | None = None,
                        claw_back_id: int | None = None, session: Session | None = None) -> dict[str, Any]:
    """A rectification order (整改) with its due date (POLICY member of the policy's department); claw-back
    orders get theirs from ``usage.order_claw_back`` (``kind`` clawback, ``claw_back_id``)."""
    from gateway.subsidies import applications

    row = applications.get(ctx, application_id)
    if row.department != department:
        raise SubsidyError("not_policy_department", "only the policy's department orders a rectification", 403)
    if not isinstance(requirement, str) or not requirement.strip() or len(requirement) > 2000:
        raise SubsidyError("invalid_requirement", "the requirement must be 1-2000 characters")
    due = _date(due_date, "due_date")
    rec = Rectification(application_id=row.id, kind=kind, claw_back_id=claw_back_id, department=department,
                        requirement=requirement.strip(), amount_fen=amount_fen, due_date=due.isoformat(),
                        ordered_by=by)
    if session is not None:
        session.add(rec)
        session.flush()
        return rectification_view(rec)
    with transaction(ctx.sessions) as s:
        s.add(rec)
        s.flush()
        return rectification_view(rec)


def complete_rectification(ctx: GatewayContext, by: str, department: str, rectification_id: int,
                           note: str) -> dict[str, Any]:
    """Record that a rectification was done (the policy's department); claw-backs complete by refund."""
    with transaction(ctx.sessions) as s:
        rec = s.get(Rectification, rectification_id)
        if rec is None:
            raise SubsidyError("unknown_rectification", f"no rectification {rectification_id}", 404)
        if rec.department != department:
            raise SubsidyError("not_policy_department", "only the ordering department records completion", 403)
        if rec.kind != "rectification":
            raise SubsidyError("completed_by_refund", "a claw-back is complete when its refunds are recorded", 409)
        if rec.done_at is not None:
            raise SubsidyError("already_done", "the rectification is already recorded as done", 409)
        if not isinstance(note, str) or not note.strip() or len(note) > 2000:
            raise SubsidyError("invalid_note", "a note of 1-2000 characters is required")
        rec.done_at, rec.done_by, rec.done_note = datetime.now(timezone.utc), by, note.strip()
        s.flush()
        return rectification_view(rec)


def rectifications(ctx: GatewayContext, application_id: str) -> list[dict[str, Any]]:
    with ctx.sessions() as s:
        return [rectification_view(r) for r in s.scalars(select(Rectification).where(
            Rectification.application_id == application_id.lower()).order_by(Rectification.id))]


def rectification_view(r: Rectification) -> dict[str, Any]:
    return {"id": r.id, "application_id": r.application_id, "kind": r.kind, "claw_back_id": r.claw_back_id,
            "department": r.department, "requirement": r.requirement, "amount_fen": r.amount_fen,
            "due_date": r.due_date, "ordered_by": r.ordered_by, "ordered_at": _iso(r.ordered_at),
            "done_at": _iso(r.done_at), "done_by": r.done_by, "done_note": r.done_note}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


__all__ = ["check_project", "store_project", "project_of", "correct", "edits", "open_for_review", "review_times",
           "declare_identity", "identity_of", "set_commitment", "commitments", "report_performance",
           "order_rectification", "complete_rectification", "rectifications"]
