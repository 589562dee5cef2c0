"""Applications (申报) with reduced materials and automatic verification (秒批), and no-application
enrolments (免申即享) with the enterprise's payee confirmation.

An application: the gateway pre-fills the declared fields from the registry attestation and matches
each required material with a valid licence; the enterprise uploads the rest; the service centre's
OPERATOR key files it on chain (``submitApplication``: window, one per enterprise, cap). When every
compared field matches the attestation (formatting aside) and the policy's criteria are met over the
attested facts, the gateway approves it at once (``autoApprove``, recorded with the policy's rule
version); otherwise it awaits manual review, level 1 due within the configured working days.

A no-application policy: the policy department computes the eligible enterprises from attested facts
and enrols them (``enrolEligible``, signed by the officer: Approved at once); each enterprise sees
the offer and confirms its payee account (kept as a keyed hash) before its payout.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chain.db import transaction
from chain.errors import ContractRevert, TransactionPending
from chain.structs import call_struct
from gateway.context import GatewayContext, department_signer
from gateway.subsidies import audit_data, autoverify, materials, policies
from gateway.subsidies.calendar import WorkCalendar
from gateway.subsidies.models import (ApplicationNumber, SubsidyApplication, SubsidyMaterial, SubsidyRecusal,
                                      SubsidyReview, SubsidyVerification)
from gateway.subsidies.policies import SubsidyError, b32, hex32
from oracle.keyed import account_hash, subject_hash

ZERO = "0x" + "00" * 32
PENDING = "pending"  # written, the submitting transaction journaled but not yet confirmed
AUTO_PENDING = "auto_pending"  # path while the autoApprove transaction is journaled but not yet confirmed


def applicant_of(ctx: GatewayContext, uscc: str) -> bytes:
    """The enterprise as the chain sees it: HMAC of its USCC under the alliance secret."""
    return subject_hash(ctx.hmac_key, uscc)


def application_id(policy_id: bytes, applicant: bytes) -> bytes:
    """applicationIdOf(policyId, applicant) = keccak256(abi.encode(policyId, applicant))."""
    return keccak(encode(["bytes32", "bytes32"], [policy_id, applicant]))


def calendar(ctx: GatewayContext) -> WorkCalendar:
    return WorkCalendar.from_settings(ctx.settings.calendar)


def review_workdays(ctx: GatewayContext, level: int) -> int:
    return dict(enumerate(ctx.settings.subsidies.review_workdays, start=1))[level]


def operator_key(ctx: GatewayContext) -> LocalAccount:
    """The service centre's OPERATOR key that files applications on the enterprises' behalf."""
    from chain.keystore import KeystoreError

    try:
        return department_signer(ctx.ledger, ctx.settings.gateway.service_department, ("operator",))
    except KeystoreError as exc:
        raise SubsidyError("no_operator_key", str(exc), 503) from None


def _contract(ctx: GatewayContext):
    return ctx.ledger.contract("SubsidyLedger")


# ---------------------------------------------------------------------------- pre-fill

def prefill(ctx: GatewayContext, uscc: str, policy_id: str) -> dict[str, Any]:
    """What the gateway fills in for the enterprise: declared fields from the registry attestation,
    each required material matched with a valid licence or marked as needing an upload, and how the
    policy's criteria come out over the attested facts."""
    policy = policies.get(ctx, policy_id)
    facts = autoverify.enterprise_facts(ctx, uscc)
    plans = materials.plan(policies.materials_of(ctx, policy.id), facts.licences)
    met, trace = policies.evaluate(json.loads(policy.criteria), facts.values)
    return {"policy_id": policy.id, "uscc": uscc, "registered": facts.registered,
            "declared": autoverify.prefill(facts),
            "provenance": {k: facts.provenance.get(k, {}) for k in autoverify.FIELDS},
            "materials": [p.as_dict() for p in plans],
            "materials_required": len(plans),
            "materials_by_licence": sum(p.satisfied_by == "licence" for p in plans),
            "criteria": {"met": met, "conditions": trace},
            "licences": [lic.view() for lic in facts.licences],
            "licence_discovery": facts.licence_discovery}


# ---------------------------------------------------------------------------- applying

def submit(ctx: GatewayContext, uscc: str, policy_id: str, requested_fen: int, declared: dict[str, Any] | None = None,
           uploads: dict[str, str] | None = None, project: dict[str, Any] | None = None) -> SubsidyApplication:
    """File the enterprise's application, then approve it automatically when verification and criteria
    allow; otherwise it awaits manual review. Contract refusals (OutsideWindow, DuplicateApplication,
    AboveCap, NoApplicationPolicy, ...) are raised as ``ContractRevert`` with nothing written."""
    policy = policies.get(ctx, policy_id)
    if not isinstance(requested_fen, int) or isinstance(requested_fen, bool) or requested_fen <= 0:
        raise SubsidyError("invalid_amount", "requested_fen must be a positive integer number of fen")
    unknown = sorted(set(declared or {}) - set(autoverify.FIELDS) - set(autoverify.FIGURES))
    if unknown:
        raise SubsidyError("unknown_field", f"declared fields are {list(autoverify.FIELDS + autoverify.FIGURES)}; "
                           f"unknown {unknown}")
    for name in autoverify.FIGURES:
        value = (declared or {}).get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise SubsidyError("invalid_figure", f"declared {name} must be a whole number, 0 or more")
    project = audit_data.check_project(project)  # the project, its year, invoice and contract numbers (APP3)
    facts = autoverify.enterprise_facts(ctx, uscc)
    fields = {**autoverify.prefill(facts), **(declared or {})}
    if not fields.get("name"):
        raise SubsidyError("name_required", "no registry attestation pre-fills this enterprise: declare its name")
    checks = autoverify.verify_fields(fields, facts)
    met, trace = policies.evaluate(json.loads(policy.criteria), facts.values)
    plans = materials.plan(policies.materials_of(ctx, policy.id), facts.licences)
    materials.attach_uploads(ctx, plans, uploads or {}, uscc)

    pid = b32(policy.id)
    applicant = applicant_of(ctx, uscc)
    aid = hex32(application_id(pid, applicant))
    mhash = materials.materials_hash(policy.id, hex32(applicant), plans)
    by_licence = sum(p.satisfied_by == "licence" for p in plans)
    operator = operator_key(ctx)
    fn = _contract(ctx).functions.submitApplication(pid, applicant, requested_fen, mhash, by_licence)
    matched = autoverify.all_match(checks)
    result: dict[str, Any] = {"met": met, "conditions": trace, "fields_match": matched}
    with ctx.sessions() as s:
        prior = s.scalar(select(SubsidyApplication.status).where(SubsidyApplication.id == aid))
    if prior == PENDING:
        raise SubsidyError("application_pending", f"application {aid} is already sent and awaits its transaction",
                           409)
    if prior is None:  # written BEFORE sending: a journaled but unconfirmed transaction keeps its details
        _store_pending(ctx, aid, policy, uscc, applicant, fields, requested_fen, matched, met, result, mhash, plans,
                       checks, operator.address, project)
    try:
        tx = ctx.ledger.txm.transact(operator, fn, _purpose(aid))
    except TransactionPending:
        raise  # settle_pending finishes it once the journal's transaction is on chain
    except BaseException:
        if prior is None:
            _drop_pending(ctx, aid)
        raise
    _confirm_submitted(ctx, aid, tx.block_timestamp, tx.tx_hash)
    amount = policies.amount_for(json.loads(policy.amount_rule), facts.values, policy.cap_fen, requested_fen)
    if matched and met and amount > 0:
        try:
            # the evidence the rule decided on: its hash goes on-chain (AutoApprovalEvidence), the document
            # itself is the application's verification fields and criteria result kept here
            evidence = keccak(json.dumps({"application_id": aid, "rule_version": policy.rule_version,
                                          "amount_fen": amount, "fields": checks, "criteria": trace},
                                         sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                         default=str).encode("utf-8"))
            decision = ctx.ledger.txm.transact(
                operator, _contract(ctx).functions.autoApprove(b32(aid), amount, b32(policy.rule_version), evidence),
                _auto_purpose(aid))
        except ContractRevert as exc:  # e.g. BudgetExceeded: people decide instead
            result["auto"] = {"decided": False, "refused": exc.error, "detail": str(exc)}
        except TransactionPending:
            with transaction(ctx.sessions) as s:  # settle_pending records the decision once it is on chain
                s.get(SubsidyApplication, aid).path = AUTO_PENDING
            raise
        else:
            result["auto"] = {"decided": True, "amount_fen": amount, "evidence_hash": hex32(evidence)}
            with transaction(ctx.sessions) as s:
                row = s.get(SubsidyApplication, aid)
                row.status, row.path, row.approved_fen = "approved", "auto", amount
                row.rule_version, row.decided_at, row.decided_by = policy.rule_version, decision.block_timestamp, \
                    operator.address
                row.decision_tx_hash = decision.tx_hash
                row.review_due_level = row.review_deadline_at = None
                row.criteria_result = json.dumps(result, ensure_ascii=False, sort_keys=True)
            return get(ctx, aid)
    else:
        result["auto"] = {"decided": False, "refused": "fields_differ" if not matched else
                          "criteria_not_met" if not met else "no_amount"}
    with transaction(ctx.sessions) as s:
        s.get(SubsidyApplication, aid).criteria_result = json.dumps(result, ensure_ascii=False, sort_keys=True)
    return get(ctx, aid)


def _purpose(aid: str) -> str:
    return f"submit application {aid}"


def _auto_purpose(aid: str) -> str:
    return f"auto-approve application {aid}"


def _store_pending(ctx: GatewayContext, aid: str, policy: Any, uscc: str, applicant: bytes, fields: dict[str, Any],
                   requested_fen: int, matched: bool, met: bool, result: dict[str, Any], mhash: bytes,
                   plans: list[materials.MaterialPlan], checks: list[dict[str, Any]], operator: str,
                   project: dict[str, Any] | None = None) -> None:
    try:
        _insert_pending(ctx, aid, policy, uscc, applicant, fields, requested_fen, matched, met, result, mhash, plans,
                        checks, operator, project)
    except IntegrityError:  # a concurrent request of the same enterprise won the insert
        raise SubsidyError("application_pending", f"application {aid} is being filed by another request", 409) \
            from None


def _insert_pending(ctx: GatewayContext, aid: str, policy: Any, uscc: str, applicant: bytes, fields: dict[str, Any],
                    requested_fen: int, matched: bool, met: bool, result: dict[str, Any], mhash: bytes,
                    plans: list[materials.MaterialPlan], checks: list[dict[str, Any]], operator: str,
                    project: dict[str, Any] | None = None) -> None:
    with transaction(ctx.sessions) as s:
        s.add(row := SubsidyApplication(
            id=aid, policy_id=policy.id, department=policy.department, uscc=uscc, applicant=hex32(applicant),
            enterprise_name=str(fields["name"])[:300], declared=json.dumps(fields, ensure_ascii=False, sort_keys=True),
            requested_fen=requested_fen, status=PENDING, path="manual", enrolled=False,
            verification="match" if matched else "mismatch", criteria_met=met,
            criteria_result=json.dumps(result, ensure_ascii=False, sort_keys=True), materials_hash=hex32(mhash),
            materials_required=len(plans), materials_by_licence=sum(p.satisfied_by == "licence" for p in plans),
            materials_uploaded=sum(p.satisfied_by == "upload" for p in plans), review_level=0,
            submitted_at=0, submitted_by=operator, tx_hash=""))
        s.flush()
        if project:
            audit_data.store_project(s, row, project)
        for p in plans:
            s.add(SubsidyMaterial(application_id=aid, policy_id=policy.id, code=p.code, name=p.name,
                                  satisfied_by=p.satisfied_by, licence_id=p.licence_id, licence_type=p.licence_type,
                                  licence_number=p.licence_number, document_sha256=p.document_sha256,
                                  document_leaf=p.document_leaf))
        for c in checks:
            s.add(SubsidyVerification(application_id=aid, field=c["field"],
                                      declared=None if c["declared"] is None else str(c["declared"]),
                                      attested=None if c["attested"] is None else str(c["attested"]),
                                      outcome=c["outcome"], provenance=json.dumps(c["provenance"], ensure_ascii=False)))


def _drop_pending(ctx: GatewayContext, aid: str) -> None:
    with transaction(ctx.sessions) as s:
        row = s.get(SubsidyApplication, aid)
        if row is None or row.status != PENDING:
            return
        for model in (SubsidyMaterial, SubsidyVerification, ApplicationNumber):
            for child in s.scalars(select(model).where(model.application_id == aid)):
                s.delete(child)
        s.flush()
        s.delete(row)


def _confirm_submitted(ctx: GatewayContext, aid: str, block_timestamp: int, tx_hash: str) -> None:
    """The submission is on chain: the application awaits review (level 1 due) unless decided next."""
    deadline = calendar(ctx).deadline_after(block_timestamp, review_workdays(ctx, 1))
    with transaction(ctx.sessions) as s:
        row = s.get(SubsidyApplication, aid)
        if row is None or row.status != PENDING:
            return
        row.status, row.submitted_at, row.tx_hash = "submitted", block_timestamp, tx_hash
        row.review_due_level, row.review_deadline_at = 1, deadline


def settle_pending(ctx: GatewayContext, min_age_seconds: float | None = None) -> int:
    """Finish applications whose submission was journaled but not confirmed when the request ended (a
    node restart): confirm those now on chain (they go to manual review), drop those whose transaction
    was refused or never journaled; likewise a pending automatic approval, and every other pending step
    (:func:`gateway.subsidies.policies.settle_steps`, steps older than ``min_age_seconds``). Returns how
    many were recorded."""
    from chain.journal import MINED, OPEN_STATUSES, JournalEntry

    with ctx.sessions() as s:
        pending = list(s.scalars(select(SubsidyApplication).where(SubsidyApplication.status == PENDING)))
    grace = 2 * ctx.settings.chain.receipt_timeout + 60
    now = datetime.now(timezone.utc)
    confirmed = 0
    for row in pending:
        with ctx.sessions() as s:
            entries = list(s.scalars(select(JournalEntry).where(JournalEntry.purpose == _purpose(row.id))))
        mined = [e for e in entries if e.status == MINED]
        if mined:
            _confirm_submitted(ctx, row.id, mined[0].block_timestamp, mined[0].tx_hash)
            confirmed += 1
        elif entries and not any(e.status in OPEN_STATUSES for e in entries):
            _drop_pending(ctx, row.id)
        elif not entries and (now - row.created_at.replace(tzinfo=row.created_at.tzinfo or timezone.utc)
                              ).total_seconds() > grace:
            _drop_pending(ctx, row.id)
    with ctx.sessions() as s:
        deciding = list(s.scalars(select(SubsidyApplication).where(SubsidyApplication.path == AUTO_PENDING)))
    for row in deciding:
        with ctx.sessions() as s:
            entries = list(s.scalars(select(JournalEntry).where(JournalEntry.purpose == _auto_purpose(row.id))))
        if any(e.status in OPEN_STATUSES for e in entries):
            continue
        mined = [e for e in entries if e.status == MINED]
        with transaction(ctx.sessions) as s:
            r = s.get(SubsidyApplication, row.id)
            if mined:
                app = call_struct(_contract(ctx).functions.getApplication(b32(row.id)))
                r.status, r.path, r.approved_fen = "approved", "auto", int(app["approved"])
                r.rule_version, r.decided_at, r.decided_by = hex32(app["ruleVersion"]), int(app["decidedAt"]), \
                    app["decidedBy"]
                r.decision_tx_hash = mined[0].tx_hash
                r.review_due_level = r.review_deadline_at = None
                confirmed += 1
            else:
                r.path = "manual"  # the automatic approval never made it: people decide
    return confirmed + policies.settle_steps(ctx, min_age_seconds)


# ---------------------------------------------------------------------------- 免申即享

def eligible(ctx: GatewayContext, policy_id: str) -> list[dict[str, Any]]:
    """Every registered enterprise the no-application policy's criteria select, with the amount its
    rule grants; enterprises already enrolled are marked."""
    policy = policies.get(ctx, policy_id)
    if not policy.no_application:
        raise SubsidyError("not_no_application_policy", "only a no-application policy (免申即享) enrols enterprises",
                           409)
    rule, amount_rule = json.loads(policy.criteria), json.loads(policy.amount_rule)
    need_licences = "licence_types" in policies.facts_used(rule)
    with ctx.sessions() as s:
        done = set(s.scalars(select(SubsidyApplication.uscc).where(SubsidyApplication.policy_id == policy.id)))
    out = []
    for uscc, facts in autoverify.all_enterprise_facts(ctx, with_licences=need_licences).items():
        met, trace = policies.evaluate(rule, facts.values)
        if not met:
            continue
        out.append({"uscc": uscc, "name": facts.values.get("name"),
                    "amount_fen": policies.amount_for(amount_rule, facts.values, policy.cap_fen, None),
                    "enrolled": uscc in done, "conditions": trace})
    return out


ENROL_BATCH = 200  # SubsidyLedger.MAX_ENROL
_PER_ENTERPRISE = ("DuplicateApplication", "AboveCap", "BudgetExceeded", "ZeroAmount")
_WHOLE_REQUEST = ("MissingRole", "NotPolicyDepartment", "NotNoApplicationPolicy", "PolicyIsClosed", "OutsideWindow")


def enrol(ctx: GatewayContext, account: LocalAccount, policy_id: str, only: list[str] | None = None) -> dict[str, Any]:
    """Enrol the eligible enterprises (all, or those of ``only``) signed by the POLICY officer ``account``.
    Up to ``ENROL_BATCH`` enterprises go in one ``enrolMany`` transaction (all or none); when one of them is
    refused (BudgetExceeded, AboveCap, ...) that batch is enrolled one transaction per enterprise instead,
    so the refusal is reported for that enterprise and the others go on."""
    policy = policies.get(ctx, policy_id)
    candidates = [c for c in eligible(ctx, policy_id) if not c["enrolled"]]
    if only is not None:
        wanted = set(only)
        candidates = [c for c in candidates if c["uscc"] in wanted]
    enrolled, refused = [], []
    pid = b32(policy.id)
    todo = []
    for c in candidates:
        if c["amount_fen"] <= 0:
            refused.append({"uscc": c["uscc"], "error": "no_amount", "detail": "the amount rule grants nothing"})
            continue
        applicant = applicant_of(ctx, c["uscc"])
        aid = hex32(application_id(pid, applicant))
        payload = {"application_id": aid, "policy_id": policy.id, "department": policy.department,
                   "uscc": c["uscc"], "applicant": hex32(applicant), "name": str(c["name"] or "")[:300],
                   "amount_fen": c["amount_fen"], "conditions": c["conditions"], "by": account.address}
        todo.append((c, applicant, aid, payload))
    for start in range(0, len(todo), ENROL_BATCH):
        chunk = todo[start:start + ENROL_BATCH]
        if len(chunk) > 1:
            fn = _contract(ctx).functions.enrolMany(pid, [x[1] for x in chunk], [x[0]["amount_fen"] for x in chunk])
            try:
                tx = policies.send_step(ctx, account, fn, f"enrol {len(chunk)} in {policy.id}", "enrolments",
                                        {"items": [x[3] for x in chunk]})
            except ContractRevert as exc:
                if exc.error not in _PER_ENTERPRISE:
                    raise  # the same for every enterprise: refuse the whole request
            else:
                enrolled.extend({"uscc": c["uscc"], "application_id": aid, "amount_fen": c["amount_fen"],
                                 "tx_hash": tx.tx_hash} for c, _, aid, _ in chunk)
                continue
        for c, applicant, aid, payload in chunk:
            try:
                tx = policies.send_step(ctx, account, _contract(ctx).functions.enrolEligible(pid, applicant,
                                                                                             c["amount_fen"]),
                                        f"enrol {aid}", "enrolment", payload)
            except ContractRevert as exc:
                refused.append({"uscc": c["uscc"], "error": exc.error, "detail": str(exc)})
                if exc.error in _WHOLE_REQUEST:
                    raise  # the same for every enterprise: refuse the whole request
                continue
            enrolled.append({"uscc": c["uscc"], "application_id": aid, "amount_fen": c["amount_fen"],
                             "tx_hash": tx.tx_hash})
    return {"policy_id": policy.id, "enrolled": enrolled, "refused": refused}


@policies.applier("enrolments")
def _record_enrolments(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: policies.Mined) -> None:
    for item in p["items"]:
        _record_enrolment(s, ctx, item, mined)


@policies.applier("enrolment")
def _record_enrolment(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: policies.Mined) -> None:
    s.add(SubsidyApplication(
        id=p["application_id"], policy_id=p["policy_id"], department=p["department"], uscc=p["uscc"],
        applicant=p["applicant"], enterprise_name=p["name"], declared="{}", requested_fen=p["amount_fen"],
        approved_fen=p["amount_fen"], status="approved", path="enrolled", enrolled=True,
        verification="not_applicable", criteria_met=True,
        criteria_result=json.dumps({"met": True, "conditions": p["conditions"]}, ensure_ascii=False, sort_keys=True),
        materials_hash=ZERO, materials_required=0, materials_by_licence=0, materials_uploaded=0, review_level=0,
        submitted_at=mined.block_timestamp, decided_at=mined.block_timestamp, decided_by=p["by"],
        submitted_by=p["by"], tx_hash=mined.tx_hash, decision_tx_hash=mined.tx_hash))


def confirm_payee(ctx: GatewayContext, uscc: str, application_id_hex: str, account_no: str, payee_name: str,
                  bank_name: str) -> SubsidyApplication:
    """The enterprise confirms the account its subsidy (e.g. a 免申即享 enrolment) is paid to. The payee
    must be the enterprise itself: its name must be the registered name (formatting aside). The account
    is recorded by the payouts module (the one payee store finance exports from: encrypted in the vault,
    a keyed hash elsewhere), which also fills this application's payee fields."""
    from gateway.subsidies import payouts
    from gateway.subsidies.notices import FundError

    row = get(ctx, application_id_hex)
    if row.uscc != uscc:
        raise SubsidyError("not_applicant", "an enterprise confirms payees of its own applications only", 403)
    if row.status in ("rejected", "paid", PENDING):
        raise SubsidyError("invalid_status", f"the application is {row.status}: no payee to confirm", 409)
    registered = autoverify.enterprise_facts(ctx, uscc, with_licences=False).values.get("name") or row.enterprise_name
    if autoverify.normalise(payee_name) != autoverify.normalise(registered):
        raise SubsidyError("payee_name_differs", f"the payee must be the enterprise itself ({registered}), "
                           f"not {payee_name!r}")
    try:
        payouts.confirm_payee(ctx, uscc, account_no, payee_name, bank_name, confirmed_by=uscc)
    except FundError as exc:
        raise SubsidyError(exc.code, str(exc), exc.status) from None
    with transaction(ctx.sessions) as s:  # this application's own record, whatever the payee store mirrors
        r = s.get(SubsidyApplication, row.id)
        r.payee_account_hash = hex32(account_hash(ctx.hmac_key, account_no))
        r.payee_name, r.payee_confirmed_at = payee_name[:300], ctx.ledger.chain.now()
    return get(ctx, row.id)


# ---------------------------------------------------------------------------- reading

def get(ctx: GatewayContext, application_id_hex: str) -> SubsidyApplication:
    b32(application_id_hex, "application_id")
    with ctx.sessions() as s:
        row = s.get(SubsidyApplication, application_id_hex.lower())
    if row is None:
        raise SubsidyError("application_not_found", f"no application {application_id_hex}", 404)
    return row


def of_enterprise(ctx: GatewayContext, uscc: str) -> list[SubsidyApplication]:
    with ctx.sessions() as s:
        return list(s.scalars(select(SubsidyApplication).where(SubsidyApplication.uscc == uscc)
                              .order_by(SubsidyApplication.submitted_at)))


def of_policy(ctx: GatewayContext, policy_id: str, status: str | None = None) -> list[SubsidyApplication]:
    policies.get(ctx, policy_id)
    with ctx.sessions() as s:
        q = select(SubsidyApplication).where(SubsidyApplication.policy_id == policy_id.lower())
        if status:
            q = q.where(SubsidyApplication.status == status)
        return list(s.scalars(q.order_by(SubsidyApplication.submitted_at, SubsidyApplication.id)))


def summary(row: SubsidyApplication) -> dict[str, Any]:
    action = None
    if row.enrolled and row.payee_confirmed_at is None and row.status == "approved":
        action = "confirm_payee"
    return {"id": row.id, "policy_id": row.policy_id, "department": row.department, "uscc": row.uscc,
            "applicant": row.applicant, "enterprise_name": row.enterprise_name, "status": row.status,
            "path": row.path, "enrolled": row.enrolled, "requested_fen": row.requested_fen,
            "approved_fen": row.approved_fen, "verification": row.verification, "criteria_met": row.criteria_met,
            "rule_version": row.rule_version, "review_level": row.review_level,
            "review_due_level": row.review_due_level, "review_deadline_at": row.review_deadline_at,
            "materials": {"required": row.materials_required, "by_licence": row.materials_by_licence,
                          "uploaded": row.materials_uploaded,
                          "saved_ratio": round(row.materials_by_licence / row.materials_required, 4)
                          if row.materials_required else 0.0},
            "payee_confirmed_at": row.payee_confirmed_at, "submitted_at": row.submitted_at,
            "decided_at": row.decided_at, "decided_by": row.decided_by, "tx_hash": row.tx_hash,
            "decision_tx_hash": row.decision_tx_hash, "action_needed": action}


def detail(ctx: GatewayContext, row: SubsidyApplication) -> dict[str, Any]:
    """The application with its materials, field-by-field verification, criteria, reviews and recusals."""
    out = summary(row)
    with ctx.sessions() as s:
        mats = s.scalars(select(SubsidyMaterial).where(SubsidyMaterial.application_id == row.id)
                         .order_by(SubsidyMaterial.id))
        out["material_items"] = [{"code": m.code, "name": m.name, "satisfied_by": m.satisfied_by,
                                  "licence_id": m.licence_id, "licence_type": m.licence_type,
                                  "licence_number": m.licence_number, "document_sha256": m.document_sha256,
                                  "document_leaf": m.document_leaf} for m in mats]
        checks = s.scalars(select(SubsidyVerification).where(SubsidyVerification.application_id == row.id)
                           .order_by(SubsidyVerification.id))
        out["verification_fields"] = [{"field": c.field, "declared": c.declared, "attested": c.attested,
                                       "outcome": c.outcome, "provenance": json.loads(c.provenance)} for c in checks]
        out["differences"] = [c for c in out["verification_fields"] if c["outcome"] not in autoverify.MATCHING]
        reviews = s.scalars(select(SubsidyReview).where(SubsidyReview.application_id == row.id)
                            .order_by(SubsidyReview.level))
        out["reviews"] = [{"level": r.level, "reviewer": r.reviewer, "department": r.department, "passed": r.passed,
                           "amount_fen": r.amount_fen, "opinion_sha256": r.opinion_sha256,
                           "opinion_digest": r.opinion_digest, "due_since": r.due_since, "deadline_at": r.deadline_at,
                           "reviewed_at": r.reviewed_at, "overdue": r.overdue, "tx_hash": r.tx_hash} for r in reviews]
        recusals = s.scalars(select(SubsidyRecusal).where(SubsidyRecusal.application_id == row.id)
                             .order_by(SubsidyRecusal.id))
        out["recusals"] = [{"reviewer": r.reviewer, "department": r.department, "reason_sha256": r.reason_sha256,
                            "reason_digest": r.reason_digest, "declared_at": r.declared_at, "tx_hash": r.tx_hash}
                           for r in recusals]
        out["project"] = audit_data.project_of(s, row)
    out["materials_check"] = materials.annotate(ctx, row, out["material_items"])  # licences re-checked on chain
    out["criteria"] = json.loads(row.criteria_result)
    out["declared"] = json.loads(row.declared)
    out["payee_name"] = row.payee_name
    out["payee_account_hash"] = row.payee_account_hash
    return out


STATUS_NAMES = ("none", "submitted", "under_review", "approved", "rejected", "noticed", "partially_paid", "paid")
AFTER_APPROVAL = ("noticed", "partially_paid", "paid")


def consistency(ctx: GatewayContext, row: SubsidyApplication) -> dict[str, Any]:
    """The gateway's record of an application against the chain's (the authority): every field that
    disagrees. A row edited by hand, or a step the gateway never recorded, shows up here."""
    if row.status == PENDING:
        return {"consistent": None, "differences": [], "reason": "the submission is not confirmed yet"}
    try:
        a = call_struct(_contract(ctx).functions.getApplication(b32(row.id)))
    except ContractRevert:
        return {"consistent": False, "differences": [{"field": "exists", "gateway": True, "chain": False}]}
    chain_state = STATUS_NAMES[a["status"]]
    gateway_state = row.status
    if chain_state in AFTER_APPROVAL and gateway_state in ("approved", *AFTER_APPROVAL):
        gateway_state = chain_state  # notices and payouts are the fund modules' to record
    expected = {"status": (gateway_state, chain_state),
                "applicant": (row.applicant, hex32(a["applicant"])),
                "policy_id": (row.policy_id, hex32(a["policyId"])),
                "requested_fen": (row.requested_fen, int(a["requested"])),
                "approved_fen": (row.approved_fen or 0, int(a["approved"])),
                "review_level": (row.review_level, int(a["reviewLevel"])),
                "enrolled": (row.enrolled, bool(a["enrolled"])),
                "rule_version": (row.rule_version or ZERO, hex32(a["ruleVersion"])),
                "decided_by": ((row.decided_by or "").lower(), "" if int(a["decidedAt"]) == 0 else
                               str(a["decidedBy"]).lower())}
    if not row.enrolled:
        expected["materials_hash"] = (row.materials_hash, hex32(a["materialsHash"]))
        expected["licence_refs"] = (row.materials_by_licence, int(a["licenceRefs"]))
    with ctx.sessions() as s:
        reviewers = {r.level: r.reviewer.lower() for r in
                     s.scalars(select(SubsidyReview).where(SubsidyReview.application_id == row.id))}
    for level in (1, 2, 3):
        on_chain = str(_contract(ctx).functions.reviewerOf(b32(row.id), level).call()).lower()
        expected[f"reviewer_{level}"] = (reviewers.get(level, ""), "" if int(on_chain, 16) == 0 else on_chain)
    differences = [{"field": k, "gateway": g, "chain": c} for k, (g, c) in expected.items() if g != c]
    return {"consistent": not differences, "differences": differences}


def chain_status(ctx: GatewayContext, application_id_hex: str) -> str:
    return STATUS_NAMES[_contract(ctx).functions.statusOf(b32(application_id_hex)).call()]

