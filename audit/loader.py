"""Build a rules snapshot from the gateway's SQL tables (subsidy front half, fund half, oracle facts).

Mapping (table → snapshot); what the product does not hold is left unknown (-1), so the points that
need it skip those subjects instead of guessing:

==========================  ===================================================================================
snapshot                    from
==========================  ===================================================================================
policies                    ``subsidy_policies``: issue = guide = published (the guide is part of publication),
                            window opens/closes, cap, 免申即享; ``criteria_changed`` = the last amendment whose
                            criteria differ from the previous version (``subsidy_policy_versions``);
                            ``missing_fields`` from criteria / window / materials / amount rule (contact is
                            not held, so never counted missing)
enterprises                 the latest oracle facts per USCC: ENTERPRISE_REGISTRY (MARKET), TAX_SUMMARY (TAX),
                            SOCIAL_INSURANCE (HRSS), UTILITY_USE (DRC: electricity of the latest year)
registry_changes            successive ENTERPRISE_REGISTRY facts of a firm: each new status (a first fact
                            counts as a change from active) and leaving / re-entering the district
                            (``[audit] district``; without it, the district the firm was first seen in)
relations                   the registry's shareholders, officers, controller and relatives (keyed hashes);
                            members' declared past employers (``subsidy_member_identities``: former_employee)
eligible                    the policy's criteria run over every registered firm's latest facts
                            (``gateway.subsidies.policies.evaluate``); policies whose criteria need licences
                            are left unrun
applications                ``subsidy_applications`` (project name / category / year; declared fields from
                            ``declared``; phone = the
                            registry's phone hash; contact address = the declared (or registered) address;
                            bank account = the confirmed payee account hash (or the firm's current one);
                            review_levels 3 on the manual path, 0 when decided by rule or enrolled;
                            hash_ok from ``chain_check`` — ``scan_gateway`` compares each row with the chain);
                            a row the edit log saw deleted stands as an application with hash_ok 0;
                            materials (APP1): ``materials_missing`` = items missing at filing (the product
                            refuses those: 0) plus the licence-backed ``subsidy_materials`` whose licence
                            stopped standing while the application awaited review (``licence_check``:
                            revoked / suspended at the event's block time, expired at validUntil; submitted
                            or under review then, i.e. after submission and before the decision — a licence
                            lapsing after approval is PAY4's); ``materials_lapsed`` = the first such lapse;
                            ``materials_supplied`` = the last ``resupplied_at`` once every lapsed item was
                            re-supplied; ``forwarded`` = the approval, for an application approved after a
                            lapse. A rejection with an item outstanding settles it (not counted). Without
                            ``licence_check``, or where a lapse or re-supply time is unknown, as before /
                            unknown (-1)
invoices                    ``subsidy_application_numbers`` (``invoice:N`` / ``contract:N``)
reviews / signoffs          ``subsidy_reviews`` (level, passed, due, signed), ``subsidy_recusals``; the
                            reviewer is the member's declared person hash (``subsidy_member_identities``) when
                            there is one, else the account; minutes from ``subsidy_review_openings``
draws                       executed ``subsidy_draws`` (per picked application; log complete when seed,
                            candidates and agency are recorded); the firm is the agency as a registry party
                            with ``hmac_key`` (``0x`` + hex of ``party_hash(key, "", USCC)``, the form registry
                            shareholders / officers take in ``relations``, so REV3 sees a drawn firm that is
                            the applicant's corporate shareholder), else its clear USCC (links never seen)
notices / objections        ``subsidy_notice_entries`` × ``subsidy_notices``; ``subsidy_objections``
payout_lines                ``payout_batch_lines`` × ``payout_batches`` × ``payee_accounts``; the account type
                            is ``individual`` when the holder is the legal representative, ``corporate`` when
                            it is the firm, unknown otherwise (PAY2's name check covers the rest)
usage / rectifications      ``subsidy_use_reports`` (category ``other`` counts as uncategorised);
                            ``subsidy_claw_backs`` (due ``clawback_workdays`` WD after the order, done at the
                            last refund of a refunded order) — orders with a row in ``subsidy_rectifications``
                            (claw-backs since due dates are kept, and rectification orders) take its due date
                            and completion instead
record_changes              ``subsidy_application_edits`` of kind ``edit`` (corrections by members; workflow
                            steps are the chain's and left out) and deletions
performance                 per approved application × its policy's ``subsidy_commitments``: due, target,
                            commitment end; the ``subsidy_performance_reports`` report (date, achieved)
transfers                   BANK_FLOW facts (FINANCE) of the accounts an application was paid to; counterparty
                            since = its first flow from that account; link official when the holder is a
                            member's declared identity, agent when the account received other firms' subsidies
==========================  ===================================================================================
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.engine import Engine, ScanResult
from audit.snapshot import GUIDE_FIELDS, Snapshot, SnapshotBuilder, normalise
from gateway.subsidies import fund_models as fm
from gateway.subsidies import models as sm
from gateway.subsidies import policies as policy_rules
from gateway.subsidies.audit_data import review_times
from gateway.subsidies.calendar import WorkCalendar
from oracle.keyed import party_hash
from oracle.models import Fact

APPROVED = {"approved", "noticed", "partially_paid", "paid"}
DELETED = "(deleted)"  # the edit log's field for a deleted application row

#: ``licence_check(licence_ids)`` -> licence id (lower-case 0x hex) -> {"valid": bool, "lapsed_at": unix seconds or
#: None, ...} (``gateway.subsidies.materials.standing``)
LicenceCheck = Callable[[list[str]], dict[str, dict[str, Any]]]


def load_snapshot(session: Session, calendar: WorkCalendar, as_of: date | None = None,
                  district: str = "", clawback_workdays: int | None = None,
                  chain_check: Callable[[Any], bool | None] | None = None, review_workdays: int | None = None,
                  external: list[dict[str, Any]] | None = None, licence_check: LicenceCheck | None = None,
                  hmac_key: bytes | None = None) -> Snapshot:
    """The ledger as the rules see it on ``as_of`` (default: today in the district's time). ``district`` is
    the district's division code (``[audit] district``): a firm registered elsewhere has moved out; without
    it, a change of a firm's registered district is. ``clawback_workdays``: a claw-back order is due this
    many working days after it was made, for orders recorded before due dates were kept (None: unknown, USE4
    skips them). ``chain_check(application_row)``: whether the row matches the chain's record (True / False,
    None: cannot tell) — REV6's hash comparison; without it ``hash_ok`` is unknown. ``review_workdays``: the
    review deadline REV1 measures against (the product's three levels' deadlines added up: ``[subsidies]``
    first_review + re_review + signoff workdays); None leaves the catalogue's default. ``external``: rows
    from outside the ledger (``{"table", "row"}`` in :mod:`audit.snapshot` names; a row with the ``id`` of
    an existing row updates it, any other row is added; dates as ISO strings) — data a district imports
    from systems the ledger does not hold, merged before the rules run. ``licence_check(licence_ids)``: each
    licence's standing on chain and when it stopped standing (``licence_checker``) — APP1 then sees
    licence-backed materials that lapsed while their application awaited review; without it those lapses are
    unknown. ``hmac_key``: the alliance secret — drawn agencies are then keyed like registry parties, so REV3
    sees one linked to the applicant; without it they stay clear USCCs."""
    import time

    as_of = as_of or calendar.local_date(time.time())
    b = SnapshotBuilder()

    def d(value: int | datetime | None) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC datetimes
        return calendar.local_date(value)

    # ---- oracle facts: enterprises, registry changes, relations
    latest: dict[str, dict[str, Any]] = defaultdict(dict)
    history: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    flows: list[dict[str, Any]] = []
    # members' declared identities (REV2): the reviewer / drafter as a person, and their past employers
    identities = {i.member.lower(): i for i in session.scalars(select(sm.MemberIdentity))}

    def person(member: str | None) -> str | None:
        ident = identities.get((member or "").lower())
        return ident.person_hash if ident else member
    for row in session.scalars(select(Fact).order_by(Fact.observed_at, Fact.id)):
        v = json.loads(row.value)
        if row.data_type == "ENTERPRISE_REGISTRY":
            latest[row.uscc]["registry"] = v
            history[row.uscc].append((row.observed_at, v))
        elif row.data_type == "TAX_SUMMARY":
            if v["year"] >= latest[row.uscc].get("tax", {}).get("year", -1):
                latest[row.uscc]["tax"] = v
        elif row.data_type == "SOCIAL_INSURANCE":
            if v["month"] >= latest[row.uscc].get("si", {}).get("month", ""):
                latest[row.uscc]["si"] = v
        elif row.data_type == "UTILITY_USE":
            if v["year"] >= latest[row.uscc].get("utility", {}).get("year", -1):
                latest[row.uscc]["utility"] = v
        elif row.data_type == "BANK_FLOW":
            flows.append(v)
    apps = list(session.scalars(select(sm.SubsidyApplication).order_by(sm.SubsidyApplication.id)))
    usccs = sorted(set(latest) | {a.uscc for a in apps})
    for uscc in usccs:
        reg, tax, si = latest[uscc].get("registry"), latest[uscc].get("tax"), latest[uscc].get("si")
        row = dict(id=uscc)
        if reg:
            row.update(name=reg["name"], legal_rep=reg["legal_representative"], capital_fen=reg["registered_capital"],
                       address=reg["address"], scope=reg["business_scope"], status=reg["status"],
                       established=reg["established"], controller=reg.get("controller_hash"))
        if tax:
            row.update(tax_paid_fen=tax["tax_paid"], revenue_fen=tax["revenue"])
        if si:
            row.update(insured_staff=si["insured_headcount"])
        if latest[uscc].get("utility"):
            row.update(utility_kwh=latest[uscc]["utility"]["electricity_kwh"])
        b.add("enterprises", **row)
        if reg:
            for kind, parties in (("shareholder", reg.get("shareholders") or []),
                                  ("officer", reg.get("officers") or []),
                                  ("relative", reg.get("relatives") or []),
                                  ("controller", [reg["controller_hash"]] if reg.get("controller_hash") else [])):
                for party in parties:
                    b.add("relations", party=party, enterprise=uscc, kind=kind)
        status, home = "active", district or None  # before the first fact: active, in the district
        inside = True
        for observed, v in history.get(uscc, []):
            if v["status"] != status:
                status = v["status"]
                b.add("registry_changes", enterprise=uscc, date=d(observed), kind=status)
            home = home or v["registered_district"]  # without a configured district: where it was first seen
            now_inside = v["registered_district"] == home
            if now_inside != inside:
                inside = now_inside
                b.add("registry_changes", enterprise=uscc, date=d(observed), kind="returned" if inside else "moved_out")
    known_firms = set(usccs)
    for ident in identities.values():  # a member's declared past employers (REV2 prompt)
        for uscc in json.loads(ident.former_employers or "[]"):
            if uscc in known_firms:
                b.add("relations", party=ident.person_hash, enterprise=uscc, kind="former_employee")

    # ---- policies and eligibility
    pols = list(session.scalars(select(sm.SubsidyPolicy).order_by(sm.SubsidyPolicy.id)))
    materials = defaultdict(int)
    for m in session.scalars(select(sm.SubsidyPolicyMaterial)):
        materials[m.policy_id] += 1
    versions = defaultdict(list)
    for v in session.scalars(select(sm.SubsidyPolicyVersion).order_by(sm.SubsidyPolicyVersion.policy_id,
                                                                      sm.SubsidyPolicyVersion.version,
                                                                      sm.SubsidyPolicyVersion.id)):
        versions[v.policy_id].append(v)
    registry_values = {u: _fact_values(latest[u], as_of) for u in usccs if latest[u].get("registry")}
    for p in pols:
        missing = 0
        criteria = (p.criteria or "").strip()
        for bit, name in enumerate(GUIDE_FIELDS):
            lacking = {"eligibility": not criteria, "conditions": not criteria,
                       "window": p.opens_at is None or p.closes_at is None,
                       "contact": False,  # not held: never counted missing
                       "materials": materials[p.id] == 0 and not p.no_application,
                       "amount_rule": not (p.amount_rule or "").strip()}[name]
            missing |= int(lacking) << bit
        changed = None
        prev_criteria = None
        issued = None  # the policy document's own issue date, when the guide followed it (PUB1)
        for v in versions[p.id]:
            terms = json.loads(v.terms) if v.terms else {}
            if issued is None and v.action == "published" and terms.get("document_date"):
                issued = date.fromisoformat(terms["document_date"])
            crit = json.dumps(terms.get("criteria"), sort_keys=True)
            if prev_criteria is not None and v.action == "amended" and crit != prev_criteria:
                changed = d(v.at)
            prev_criteria = crit
        rule = json.loads(criteria) if criteria else None
        run = rule is not None and "licence_types" not in policy_rules.facts_used(rule)
        b.add("policies", id=p.id, department=p.department, status="closed" if p.status == "closed" else "published",
              drafter=person(p.published_by), issue=issued or d(p.published_at), guide=d(p.published_at), open=d(p.opens_at),
              close=d(p.closes_at - 1), missing_fields=missing, criteria_changed=changed, eligibility_run=int(run),
              cap_fen=p.cap_fen, auto_grant=int(p.no_application), review_wd=review_workdays)
        if run:
            for uscc, values in registry_values.items():
                met, _ = policy_rules.evaluate(rule, values)
                if met:
                    b.add("eligible", policy=p.id, enterprise=uscc)

    # ---- applications and their review
    payees = {a.id: a for a in session.scalars(select(fm.PayeeAccount))}
    current_account: dict[str, str] = {}
    for acc in sorted(payees.values(), key=lambda x: x.id):
        if acc.replaced_at is None:
            current_account[acc.uscc] = acc.account_hash
    pol_by_id = {p.id: p for p in pols}
    hash_ok: dict[str, int] = {}
    if chain_check is not None:  # REV6: the gateway's record against the chain's (the authority)
        for a in apps:
            if a.status != "pending":
                verdict = chain_check(a)
                hash_ok[a.id] = -1 if verdict is None else int(bool(verdict))
    lapses = _material_lapses(session, apps, licence_check) if licence_check is not None else {}
    for a in apps:
        declared = json.loads(a.declared or "{}")
        reg = latest[a.uscc].get("registry") or {}
        formula = None
        p = pol_by_id.get(a.policy_id)
        if p is not None and a.uscc in registry_values and (p.amount_rule or "").strip():
            formula = policy_rules.amount_for(json.loads(p.amount_rule), registry_values[a.uscc], p.cap_fen,
                                              a.requested_fen)
        decision = ("approved" if a.status in APPROVED else "rejected" if a.status == "rejected" else "pending")
        missing = max(0, a.materials_required - a.materials_by_licence - a.materials_uploaded)
        lapse = lapses.get(a.id)
        b.add("applications", id=a.id, policy=a.policy_id, enterprise=a.uscc, submitted=d(a.submitted_at),
              decision=decision, requested_fen=a.requested_fen, formula_fen=formula, approved_fen=a.approved_fen if decision == "approved"
              else None, approved=d(a.decided_at) if decision == "approved" else None,
              materials_missing=missing if lapse is None else -1 if lapse.items < 0 else missing + lapse.items,
              materials_lapsed=d(lapse.lapsed) if lapse else None,
              materials_supplied=d(lapse.supplied) if lapse and lapse.supplied else None,
              forwarded=d(a.decided_at) if lapse and decision == "approved" else None,
              reviewed=d(a.decided_at), decl_name=declared.get("name"),
              decl_legal_rep=declared.get("legal_representative"),
              decl_capital_fen=declared.get("registered_capital_fen"), decl_address=declared.get("address"),
              decl_scope=declared.get("business_scope"), decl_revenue_fen=declared.get("revenue_fen"),
              decl_tax_fen=declared.get("tax_paid_fen"), decl_staff=declared.get("insured_staff"), phone=reg.get("phone_hash"),
              contact_address=declared.get("address") or reg.get("address"),
              bank_account=a.payee_account_hash or current_account.get(a.uscc),
              review_levels=3 if a.path == "manual" else 0, project=a.project_name, category=a.project_category,
              year=a.project_year, hash_ok=hash_ok.get(a.id))
    deleted_apps: set[str] = set()
    known_ids = {a.id for a in apps}
    edits = list(session.scalars(select(sm.ApplicationEdit).where(sm.ApplicationEdit.kind == "edit")
                                 .order_by(sm.ApplicationEdit.id)))
    edits += list(session.scalars(select(sm.ApplicationEdit).where(sm.ApplicationEdit.field == DELETED,
                                                                   sm.ApplicationEdit.kind == "step")))
    for e in edits:  # a deleted row: the log outlives it; it stands as an application the chain knows
        if e.field == DELETED and e.application_id not in known_ids | deleted_apps:
            deleted_apps.add(e.application_id)
            b.add("applications", id=e.application_id, hash_ok=0)
    for e in edits:
        if e.application_id not in known_ids and e.application_id not in deleted_apps:
            continue
        b.add("record_changes", application=e.application_id, at=d(e.at), after_signoff=int(e.after_signoff),
              reason=e.reason, deleted=int(e.field == DELETED))
    for n in session.scalars(select(sm.ApplicationNumber).order_by(sm.ApplicationNumber.id)):
        b.add("invoices", application=n.application_id, number=f"{n.kind}:{n.number}")
    reviews = select(sm.SubsidyReview).order_by(sm.SubsidyReview.application_id, sm.SubsidyReview.level)
    hard_fail = {a.id for a in apps if a.verification == "mismatch" or not a.criteria_met}
    spent = review_times(session)  # REV4: from the reviewer's first opening to the recorded review
    for r in session.scalars(reviews):
        overridden = r.passed and r.application_id in hard_fail  # passed although the automatic check failed
        seconds = spent.get((r.application_id, r.level))
        b.add("reviews", application=r.application_id, reviewer=person(r.reviewer), recused=0, passed=int(r.passed),
              hardfail_overridden=int(overridden), override_reason=r.opinion_sha256 if overridden else None,
              minutes=None if seconds is None else seconds // 60)
        b.add("signoffs", application=r.application_id, level=r.level, signed=d(r.reviewed_at), due=d(r.deadline_at))
    for r in session.scalars(select(sm.SubsidyRecusal).order_by(sm.SubsidyRecusal.id)):
        b.add("reviews", application=r.application_id, reviewer=person(r.reviewer), recused=1)
    agencies = {g.id: g.uscc for g in session.scalars(select(sm.VerificationAgency))}
    known_apps = {a.id for a in apps}
    for dr in session.scalars(select(sm.AgencyDraw).where(sm.AgencyDraw.status == "executed")
                              .order_by(sm.AgencyDraw.id)):
        complete = bool(dr.seed) and bool(json.loads(dr.candidates or "[]")) and dr.agency_id is not None
        for app_id in json.loads(dr.picked or "[]"):
            if app_id in known_apps:
                b.add("draws", application=app_id, firm=_firm(agencies.get(dr.agency_id), hmac_key),
                      log_complete=int(complete),
                      overridden=0)

    # ---- notices, objections
    notices = {n.id: n for n in session.scalars(select(fm.SubsidyNotice))}
    for e in session.scalars(select(fm.SubsidyNoticeEntry).order_by(fm.SubsidyNoticeEntry.id)):
        n = notices.get(e.notice_id)
        if n is None or e.application_id not in known_apps:
            continue
        b.add("notices", application=e.application_id, published=d(n.opened_at), planned_end=d(n.ends_at),
              listed_name=e.enterprise_name, listed_amount_fen=e.amount)
    for o in session.scalars(select(fm.SubsidyObjection).order_by(fm.SubsidyObjection.id)):
        if o.application_id in known_apps:
            b.add("objections", application=o.application_id, received=d(o.filed_at), replied=d(o.answered_at),
                  closed=d(o.answered_at) if o.status != "open" else None)

    # ---- payouts: lines, bank return, payee accounts
    batches = {x.id: x for x in session.scalars(select(fm.PayoutBatch))}
    first_account: dict[str, int] = {}
    for acc in sorted(payees.values(), key=lambda x: x.id):
        first_account.setdefault(acc.uscc, acc.id)
    for ln in session.scalars(select(fm.PayoutBatchLine).order_by(fm.PayoutBatchLine.batch_id,
                                                                  fm.PayoutBatchLine.line_no)):
        if ln.application_id not in known_apps:
            continue
        batch = batches.get(ln.batch_id)
        acc = payees.get(ln.payee_account_id)
        status = {"paid": "paid", "failed": "failed", "reexported": "failed"}.get(ln.status)
        resolved = None
        if ln.status == "reexported" and ln.reexported_in in batches:
            resolved = d(batches[ln.reexported_in].exported_at)
        bank_date = d(ln.paid_at) if ln.paid_at else (d(batch.imported_at) if batch and batch.imported_at and status
                                                      else None)
        changed = None
        if acc is not None and first_account.get(acc.uscc) != acc.id:
            changed = d(acc.changed_at)  # the payee account was changed to this one
        reg = latest[ln.uscc].get("registry") or {}
        kind = None
        if acc is not None and reg:
            if normalise(acc.payee_name) == normalise(reg["legal_representative"]):
                kind = "individual"  # the legal representative's own account
            elif normalise(acc.payee_name) == normalise(reg["name"]):
                kind = "corporate"
        b.add("payout_lines", id=f"{ln.batch_id}:{ln.line_no}", application=ln.application_id,
              planned=d(batch.exported_at) if batch else None, export_fen=ln.amount, bank_fen=ln.returned_amount,
              bank_status=status, bank_date=bank_date, resolved=resolved,
              payee_name=acc.payee_name if acc else None, account_type=kind, account_changed=changed)

    # ---- use
    for u in session.scalars(select(fm.UseReport).order_by(fm.UseReport.id)):
        if u.application_id in known_apps:
            b.add("usage", application=u.application_id, category=None if u.category == "other" else u.category,
                  amount_fen=u.amount,
                  reported=d(u.reported_at))
    last_refund: dict[int, int] = {}
    for rf in session.scalars(select(fm.ClawBackRefund)):
        last_refund[rf.order_id] = max(last_refund.get(rf.order_id, 0), rf.recorded_at)
    dated = set()
    claws = {c.id: c for c in session.scalars(select(fm.ClawBack))}
    for r in session.scalars(select(sm.Rectification).order_by(sm.Rectification.id)):  # orders with due dates
        if r.application_id in known_apps:
            if r.claw_back_id is not None:
                dated.add(r.claw_back_id)
            outstanding = r.amount_fen
            if r.claw_back_id is not None and r.claw_back_id in claws:
                c = claws[r.claw_back_id]
                outstanding = max(0, c.ordered_amount - c.refunded)
            b.add("rectifications", application=r.application_id, kind=r.kind, due=r.due_date, done=d(r.done_at),
                  amount_fen=outstanding)
    for c in session.scalars(select(fm.ClawBack).order_by(fm.ClawBack.id)):
        if c.application_id in known_apps and c.id not in dated:  # an order from before due dates were kept
            ordered = d(c.ordered_at)
            due = calendar.add_workdays(ordered, clawback_workdays) if clawback_workdays is not None else None
            done = d(last_refund.get(c.id)) if c.status == "refunded" else None
            b.add("rectifications", application=c.application_id, kind="clawback", due=due, done=done,
                  amount_fen=max(0, c.ordered_amount - c.refunded))

    # ---- performance commitments and reports (USE3)
    commitments = defaultdict(list)
    for c in session.scalars(select(sm.PerformanceCommitment).order_by(sm.PerformanceCommitment.id)):
        commitments[c.policy_id].append(c)
    reports = {(r.application_id, r.commitment_id): r for r in session.scalars(select(sm.PerformanceReport))}
    for a in apps:
        if a.status not in APPROVED:
            continue
        for c in commitments.get(a.policy_id, []):
            rep = reports.get((a.id, c.id))
            b.add("performance", application=a.id, due=c.report_due, reported=d(rep.reported_at) if rep else None,
                  target=c.target, achieved=rep.achieved if rep else None, commitment_end=c.period_end)

    # ---- money leaving the receiving account (USE2): BANK_FLOW facts of the accounts a subsidy was paid to
    paid_to: dict[str, set[str]] = defaultdict(set)
    for ln in session.scalars(select(fm.PayoutBatchLine).where(fm.PayoutBatchLine.status == "paid")):
        if ln.application_id in known_apps:
            paid_to[ln.application_id].add(ln.account_hash)
    if flows and paid_to:
        first_seen: dict[tuple[str, str], str] = {}
        for f in flows:
            if f.get("counterparty_hash"):
                key = (f["account_hash"], f["counterparty_hash"])
                first_seen[key] = min(first_seen.get(key, f["value_date"]), f["value_date"])
        officials = {i.person_hash for i in identities.values()}
        firm_accounts: dict[str, set[str]] = defaultdict(set)  # account -> firms paid (or confirmed) on it
        for acc in payees.values():
            firm_accounts[acc.account_hash].add(acc.uscc)
        for ln in session.scalars(select(fm.PayoutBatchLine)):
            firm_accounts[ln.account_hash].add(ln.uscc)
        by_account: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for f in flows:
            by_account[(f["uscc"], f["account_hash"])].append(f)
        for a in apps:
            for account in sorted(paid_to.get(a.id, ())):
                for f in by_account.get((a.uscc, account), []):
                    cp, holder = f.get("counterparty_hash"), f.get("counterparty_holder_hash")
                    link = "none"
                    if holder and holder in officials:
                        link = "official"  # a member's declared identity holds the receiving account
                    elif cp and firm_accounts.get(cp, set()) - {a.uscc}:
                        link = "agent"  # the account also receives other firms' subsidies
                    b.add("transfers", application=a.id, date=f["value_date"], amount_fen=f["amount"],
                          kind=f["kind"], counterparty=cp,
                          counterparty_since=first_seen.get((account, cp)) if cp else None,
                          counterparty_link=link)
    for item in external or []:
        merge_row(b, item["table"], item["row"])
    return b.build(as_of)


@dataclass(frozen=True)
class Lapse:
    """An application's licence-backed materials that stopped standing while it awaited review (APP1)."""

    items: int  # how many (-1: a lapse or re-supply time is unknown)
    lapsed: int | None  # unix seconds: the first lapse
    supplied: int | None  # unix seconds: the last re-supply, once every lapsed item was re-supplied


def _material_lapses(session: Session, apps: list[Any], licence_check: LicenceCheck) -> dict[str, Lapse]:
    """Per application with a licence-backed material whose licence lapsed after filing and before the
    decision (it was submitted or under review then, ``materials.RESUPPLIABLE``; a lapse in the filing's second
    counts: the filing checked the licence stood): the lapse. A licence that
    lapses after the approval is a payout matter (PAY4), not a missing material; an application rejected
    while an item was outstanding is settled (the rejection is the answer to an incomplete file); a licence
    standing again (reinstated) satisfies its material again."""
    from gateway.subsidies.materials import RESUPPLIABLE

    rows = list(session.scalars(select(sm.SubsidyMaterial).where(sm.SubsidyMaterial.satisfied_by == "licence",
                                                                 sm.SubsidyMaterial.licence_id.is_not(None))
                                .order_by(sm.SubsidyMaterial.id)))
    by_app: dict[str, list[Any]] = defaultdict(list)
    for m in rows:
        by_app[m.application_id].append(m)
    awaited = {a.id: a for a in apps if a.id in by_app and a.status != "pending"}
    if not awaited:
        return {}
    standing = licence_check(sorted({m.licence_id.lower() for a in awaited for m in by_app[a]}))
    out: dict[str, Lapse] = {}
    for app_id, a in awaited.items():
        waiting = a.decided_at is None and a.status in RESUPPLIABLE  # still awaiting review now
        lapsed: list[int] = []
        supplied: list[int] = []
        outstanding = unknown = False
        for m in by_app[app_id]:
            check = standing.get(m.licence_id.lower())
            if check is None or check.get("valid", True):
                continue
            at = check.get("lapsed_at")
            if at is None:
                unknown |= waiting  # lapsed while awaiting review, since when the chain does not say (decided: the
                continue            # sign-off refused a lapsed licence, so it lapsed after the decision)
            if not (at >= a.submitted_at and (waiting or (a.decided_at is not None and at < a.decided_at))):
                continue
            lapsed.append(at)
            if not m.document_sha256:
                outstanding = True
            elif m.resupplied_at is None:
                unknown = True  # re-supplied before the time was kept
            else:
                supplied.append(m.resupplied_at)
        if unknown:
            out[app_id] = Lapse(items=-1, lapsed=None, supplied=None)
        elif lapsed and not (a.status == "rejected" and outstanding):  # a rejection settles an incomplete file
            out[app_id] = Lapse(items=len(lapsed), lapsed=min(lapsed), supplied=None if outstanding else max(supplied))
    return out


def _firm(uscc: str | None, hmac_key: bytes | None) -> str | None:
    """A drawn agency as the snapshot's party: keyed as registry parties are (``0x`` + hex), or its clear USCC."""
    if uscc is None or not hmac_key:
        return uscc
    return "0x" + party_hash(hmac_key, "", uscc).hex()


def merge_row(b: SnapshotBuilder, table: str, row: dict[str, Any]) -> None:
    """Add ``row`` to ``table``, or update the row with its ``id`` when there is one."""
    if table not in b.rows:
        raise ValueError(f"no snapshot table {table!r}")
    if "id" in row:
        for existing in b.rows[table]:
            if existing.get("id") == row["id"]:
                existing.update(row)
                return
    b.add(table, **row)


def _fact_values(facts: dict[str, Any], today: date) -> dict[str, Any]:
    """An enterprise's latest facts under the names policy criteria use (as autoverify.enterprise_facts)."""
    out: dict[str, Any] = {}
    reg = facts.get("registry")
    if reg:
        for name in ("name", "legal_representative", "address", "business_scope", "status", "registered_district",
                     "established"):
            out[name] = reg.get(name)
        out["registered_capital_fen"] = reg.get("registered_capital")
        if reg.get("established"):
            est, now = date.fromisoformat(reg["established"]), today
            out["age_years"] = now.year - est.year - ((now.month, now.day) < (est.month, est.day))
    if facts.get("tax"):
        t = facts["tax"]
        out.update(tax_year=t["year"], tax_paid_fen=t["tax_paid"], revenue_fen=t["revenue"],
                   tax_credit_rating=t["tax_credit_rating"])
    if facts.get("si"):
        out.update(insured_month=facts["si"]["month"], insured_headcount=facts["si"]["insured_headcount"])
    return out


def review_workdays(settings: Any) -> int:
    """The whole review's deadline in working days: the three levels' deadlines of ``[subsidies]``."""
    return sum(settings.subsidies.review_workdays)


def load_configured(session: Session, calendar: WorkCalendar, settings: Any, as_of: date | None = None,
                    chain_check: Callable[[Any], bool | None] | None = None,
                    external: list[dict[str, Any]] | None = None, licence_check: LicenceCheck | None = None,
                    hmac_key: bytes | None = None) -> Snapshot:
    """``load_snapshot`` with what the gateway's settings say: ``[audit]`` district and rectification
    deadline, ``[subsidies]`` review deadlines."""
    audit = settings.audit
    return load_snapshot(session, calendar, as_of, audit.district, audit.rectification_workdays, chain_check,
                         review_workdays(settings), external, licence_check=licence_check, hmac_key=hmac_key)


def scan_gateway(ctx: Any, as_of: date | None = None, points: list[str] | None = None,
                 external: list[dict[str, Any]] | None = None) -> tuple[Snapshot, ScanResult]:
    """Load the gateway's ledger (``ctx.sessions``) and run the full scan with ``ctx.settings``' ``[audit]``
    thresholds and ``[calendar]``. Hand ``result.findings`` to ``audit.service.ingest`` with
    ``full_scan=ScanScope(points=frozenset(result.stats))`` so that alerts not found again are cleared. With
    the chain (``ctx.ledger``) it compares rows with it (REV6) and checks licence-backed materials (APP1);
    with ``ctx.hmac_key`` it keys drawn agencies as registry parties (REV3)."""
    calendar = WorkCalendar.from_settings(ctx.settings.calendar)
    engine = Engine(calendar, ctx.settings.audit)
    on_chain = getattr(ctx, "ledger", None) is not None
    with ctx.sessions() as session:
        snap = load_configured(session, calendar, ctx.settings, as_of, chain_checker(ctx) if on_chain else None,
                               external, licence_check=licence_checker(ctx) if on_chain else None,
                               hmac_key=getattr(ctx, "hmac_key", None))
    return snap, engine.scan(snap, points)


def chain_checker(ctx: Any) -> Callable[[Any], bool | None]:
    """REV6's comparison for ``load_snapshot(chain_check=...)``: the gateway's application row against the
    SubsidyLedger's record of it (``gateway.subsidies.applications.consistency``: status, applicant, amounts,
    materials hash, reviewers, decider, rule version)."""
    from gateway.subsidies import applications

    def check(row: Any) -> bool | None:
        return applications.consistency(ctx, row)["consistent"]

    return check


def licence_checker(ctx: Any, catch_up: bool = True) -> LicenceCheck:
    """APP1's view of licence-backed materials for ``load_snapshot(licence_check=...)``: each licence's standing
    on chain now and when it stopped standing (``gateway.subsidies.materials.standing``: the block time of its
    suspension or revocation from the event index, or its expiry). ``catch_up``: bring the event index up to
    the chain head before reading it — False where the loader runs inside the indexer's listener (the live
    snapshot), whose own indexer keeps the index current."""
    from gateway.subsidies import materials

    def check(licence_ids: list[str]) -> dict[str, dict[str, Any]]:
        return materials.standing(ctx, licence_ids, catch_up=catch_up)

    return check
