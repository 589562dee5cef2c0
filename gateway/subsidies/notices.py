"""Public notices (公示) of approved applications and objections (异议) against them.

A policy department opens a notice of approved applications of one of its policies for a period
in working days (the district's calendar, ``[calendar]``); the published list is stored and anchored
by the documents service and its SHA-256 is the notice's on-chain ``listDigest``. Objections come in
through the gateway (an enterprise, or a member for the public), their text stored off-chain and
only its digest on-chain; the policy department answers each on the record — an upheld objection
rejects the application and returns its amount to the budget (the contract does that).

This module also holds the helpers the other fund services share (ids, the ledger contract,
reading an application's on-chain record, the gateway's operator key).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select

from chain.db import transaction
from gateway.context import GatewayContext, department_signer
from gateway.services import documents
from gateway.subsidies.calendar import WorkCalendar
from gateway.subsidies.fund_models import SubsidyNotice, SubsidyNoticeEntry, SubsidyObjection

HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
STATUS_NAMES = ("none", "submitted", "under_review", "approved", "rejected", "noticed", "partially_paid", "paid")
APPLICATION_FIELDS = ("policyId", "applicant", "materialsHash", "requested", "approved", "paid", "spent", "recovered",
                      "submittedAt", "decidedAt", "noticeId", "ruleVersion", "decidedBy", "licenceRefs",
                      "reviewLevel", "status", "enrolled", "openObjections", "useReports")
POLICY_FIELDS = ("terms", "department", "approvedTotal", "paidTotal", "recoveredTotal", "maxApproved", "publishedAt",
                 "amendedAt", "version", "applications", "closed", "publishedBy")
TERMS_FIELDS = ("budget", "perEnterpriseCap", "opensAt", "closesAt", "noticePeriodSeconds", "payoutDeadlineSeconds",
                "guideHash", "criteriaHash", "noApplication")
NOTICE_FIELDS = ("policyId", "listDigest", "openedAt", "endsAt", "count", "objections", "openObjections", "openedBy")
MAX_NOTICE = 500


class FundError(ValueError):
    """A refusal of the fund services: ``code`` is machine-readable, ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 422, **details: Any):
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details


# ---------------------------------------------------------------------------- shared helpers

def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def b32(value: str, what: str = "id") -> bytes:
    if not isinstance(value, str) or not HEX32.match(value):
        raise FundError(f"invalid_{what}", f"{what} must be 0x followed by 64 hexadecimal characters")
    return bytes.fromhex(value[2:])


def ledger_contract(ctx: GatewayContext) -> Any:
    return ctx.ledger.contract("SubsidyLedger")


def calendar(ctx: GatewayContext) -> WorkCalendar:
    return WorkCalendar.from_settings(ctx.settings.calendar)


def on_chain_application(ctx: GatewayContext, application_id: str) -> dict[str, Any]:
    """The application's on-chain record (status as a name); 404 ``unknown_application`` when there is none."""
    contract = ledger_contract(ctx)
    raw = b32(application_id, "application_id")
    if contract.functions.statusOf(raw).call() == 0:
        raise FundError("unknown_application", f"no application {application_id} on chain", 404)
    rec = dict(zip(APPLICATION_FIELDS, contract.functions.getApplication(raw).call()))
    rec["status"] = STATUS_NAMES[rec["status"]]
    for key in ("policyId", "applicant", "materialsHash", "noticeId", "ruleVersion"):
        rec[key] = hex32(rec[key])
    return rec


def on_chain_policy(ctx: GatewayContext, policy_id: str) -> dict[str, Any]:
    """The policy's on-chain record (department as its code); 404 ``unknown_policy`` when there is none."""
    from chain.errors import ContractRevert
    from chain.roles import bytes32_to_code

    contract = ledger_contract(ctx)
    raw = b32(policy_id, "policy_id")
    try:
        rec = dict(zip(POLICY_FIELDS, ctx.ledger.txm.call(contract.functions.getPolicy(raw))))
    except ContractRevert as exc:
        if exc.error == "UnknownPolicy":
            raise FundError("unknown_policy", f"no policy {policy_id} on chain", 404) from None
        raise
    rec["terms"] = dict(zip(TERMS_FIELDS, rec["terms"]))
    rec["department"] = bytes32_to_code(rec["department"])
    return rec


def operator_key(ctx: GatewayContext) -> LocalAccount:
    """The gateway's OPERATOR key (service centre): files objections and usage reports for enterprises."""
    from chain.keystore import KeystoreError

    try:
        return department_signer(ctx.ledger, ctx.settings.gateway.service_department, ("operator",))
    except KeystoreError as exc:
        raise FundError("operator_key_missing", str(exc), 503) from None


def anchoring_department(ctx: GatewayContext, department: str) -> str:
    """The department whose batch anchors a document of ``department``: itself when this gateway holds
    one of its ISSUER/OPERATOR keys, else the service department (as the documents router does)."""
    from chain.keystore import KeystoreError

    try:
        department_signer(ctx.ledger, department)
    except KeystoreError:
        return ctx.settings.gateway.service_department
    return department


def store_file(ctx: GatewayContext, content: bytes, *, media_type: str, department: str, uploaded_by: str,
               name: str) -> str:
    """Store a file through the documents service (encrypted, anchored); return its SHA-256."""
    return documents.store(ctx, content, media_type=media_type, filename=name,
                           department=anchoring_department(ctx, department), uploaded_by=uploaded_by)["sha256"]


def store_json(ctx: GatewayContext, value: Any, *, department: str, uploaded_by: str, name: str) -> str:
    """Store a JSON record through the documents service (encrypted, anchored); return its SHA-256."""
    return store_file(ctx, documents.canonical_json(value), media_type="application/json", department=department,
                      uploaded_by=uploaded_by, name=name)


def front_half_application(ctx: GatewayContext, application_id: str) -> Any | None:
    """The policies/applications module's row of an application, when that module has one."""
    try:
        from gateway.subsidies.models import SubsidyApplication
    except ImportError:  # pragma: no cover - the front half is always installed with the product
        return None
    with ctx.sessions() as s:
        return s.get(SubsidyApplication, application_id)


def set_front_half_status(ctx: GatewayContext, application_ids: list[str], status: str) -> None:
    """Mirror a status the fund services caused into the applications table (its documented contract)."""
    try:
        from gateway.subsidies.models import SubsidyApplication
    except ImportError:  # pragma: no cover
        return
    with transaction(ctx.sessions) as s:
        for app_id in application_ids:
            row = s.get(SubsidyApplication, app_id)
            if row is not None:
                row.status = status


def _mirror_decision(ctx: GatewayContext, application_id: str, by: str, at: int, tx_hash: str) -> None:
    """An upheld objection is the application's new decision on chain (decidedBy = the answering member):
    the applications table mirrors it, so that the row stays consistent with the chain (REV6)."""
    from gateway.subsidies.models import SubsidyApplication

    with transaction(ctx.sessions) as s:
        row = s.get(SubsidyApplication, application_id)
        if row is not None:
            row.decided_by, row.decided_at, row.decision_tx_hash = by, at, tx_hash


def department_owns(ctx: GatewayContext, policy_id: str, department: str | None) -> bool:
    return department is not None and on_chain_policy(ctx, policy_id)["department"] == department


# ---------------------------------------------------------------------------- notices

def new_notice_id(policy_id: bytes) -> bytes:
    return keccak(encode(["string", "bytes32", "bytes16"], ["notice", policy_id, uuid.uuid4().bytes]))


def notice_period(ctx: GatewayContext, policy_id: str, working_days: int | None) -> int:
    """The notice period in working days: as asked (never shorter than the policy's), else the policy's
    (front half), else [payouts]. A notice shorter than the policy's period is refused here, with the
    policy's figure, instead of by the contract's ``NoticeTooShort`` — which measures the period in calendar
    days and so would let a shorter one through on some weekdays and not on others."""
    from gateway.subsidies.models import SubsidyPolicy

    with ctx.sessions() as s:
        row = s.get(SubsidyPolicy, policy_id)
    policy_days = int(row.notice_workdays) if row is not None and row.notice_workdays else None
    if working_days is not None:
        if not 1 <= working_days <= 60:
            raise FundError("invalid_working_days", "a notice runs 1 to 60 working days")
        if policy_days is not None and working_days < policy_days:
            raise FundError("notice_shorter_than_policy", f"the policy's notice period is {policy_days} working "
                            f"days; a notice of {working_days} would end before it", policy_workdays=policy_days)
        return working_days
    return policy_days if policy_days is not None else ctx.settings.payouts.notice_workdays


@dataclass
class NoticeDraft:
    policy_id: str
    application_ids: list[str]
    title: str
    working_days: int | None = None


def open_notice(ctx: GatewayContext, account: LocalAccount, department: str, draft: NoticeDraft) -> SubsidyNotice:
    """Open a public notice signed by the POLICY member ``account`` of the policy's department."""
    if not draft.application_ids:
        raise FundError("empty_notice", "a notice lists at least one approved application")
    if len(draft.application_ids) > MAX_NOTICE:
        raise FundError("notice_too_large", f"at most {MAX_NOTICE} applications per notice")
    if len(set(a.lower() for a in draft.application_ids)) != len(draft.application_ids):
        raise FundError("duplicate_in_notice", "an application is listed twice")
    if not draft.title or len(draft.title) > 200:
        raise FundError("invalid_title", "a notice needs a title of 1-200 characters")
    pid = b32(draft.policy_id, "policy_id")
    on_chain_policy(ctx, draft.policy_id)  # 404 unknown_policy
    days = notice_period(ctx, draft.policy_id.lower(), draft.working_days)
    now = ctx.ledger.chain.now()
    ends_at = calendar(ctx).deadline_after(now, days)
    entries = []
    for app_id in draft.application_ids:
        rec = on_chain_application(ctx, app_id)
        row = front_half_application(ctx, app_id.lower())
        entries.append({"application_id": app_id.lower(), "applicant": rec["applicant"], "amount_fen": rec["approved"],
                        "uscc": getattr(row, "uscc", None), "enterprise_name": getattr(row, "enterprise_name", None)})
    notice_id = new_notice_id(pid)
    listing = {"kind": "subsidy-public-notice", "notice_id": hex32(notice_id), "policy_id": draft.policy_id.lower(),
               "title": draft.title, "working_days": days, "ends_at": ends_at, "entries": entries}
    sha = store_json(ctx, listing, department=department, uploaded_by=account.address, name="notice.json")
    fn = ledger_contract(ctx).functions.openNotice(notice_id, pid, [b32(e["application_id"]) for e in entries],
                                                   bytes.fromhex(sha), ends_at)
    tx = ctx.ledger.txm.transact(account, fn, f"open notice {hex32(notice_id)}")
    with transaction(ctx.sessions) as s:
        s.add(SubsidyNotice(id=hex32(notice_id), policy_id=draft.policy_id.lower(), department=department,
                            title=draft.title, list_sha256=sha, list_digest="0x" + sha, working_days=days,
                            opened_at=tx.block_timestamp, ends_at=ends_at, opened_by=account.address,
                            tx_hash=tx.tx_hash))
        for e in entries:
            s.add(SubsidyNoticeEntry(notice_id=hex32(notice_id), application_id=e["application_id"],
                                     policy_id=draft.policy_id.lower(), applicant=e["applicant"], uscc=e["uscc"],
                                     enterprise_name=e["enterprise_name"], amount=e["amount_fen"]))
    set_front_half_status(ctx, [e["application_id"] for e in entries], "noticed")
    return get_notice(ctx, hex32(notice_id))


def get_notice(ctx: GatewayContext, notice_id: str) -> SubsidyNotice:
    with ctx.sessions() as s:
        row = s.get(SubsidyNotice, notice_id.lower())
    if row is None:
        raise FundError("unknown_notice", f"no notice {notice_id}", 404)
    return row


def notice_view(ctx: GatewayContext, row: SubsidyNotice) -> dict[str, Any]:
    """The notice as the public sees it, with its on-chain state (running / ended, open objections)."""
    rec = dict(zip(NOTICE_FIELDS, ledger_contract(ctx).functions.getNotice(b32(row.id)).call()))
    with ctx.sessions() as s:
        entries = list(s.scalars(select(SubsidyNoticeEntry).where(SubsidyNoticeEntry.notice_id == row.id)
                                 .order_by(SubsidyNoticeEntry.id)))
        objections = list(s.scalars(select(SubsidyObjection).where(SubsidyObjection.notice_id == row.id)
                                    .order_by(SubsidyObjection.number)))
    now = ctx.ledger.chain.now()
    return {"notice_id": row.id, "policy_id": row.policy_id, "department": row.department, "title": row.title,
            "working_days": row.working_days, "opened_at": row.opened_at, "ends_at": row.ends_at,
            "running": now < row.ends_at, "list_sha256": row.list_sha256, "tx_hash": row.tx_hash,
            "opened_by": row.opened_by,
            "chain": {"list_digest": hex32(rec["listDigest"]), "ends_at": rec["endsAt"], "count": rec["count"],
                      "objections": rec["objections"], "open_objections": rec["openObjections"],
                      "matches": hex32(rec["listDigest"]) == row.list_digest and rec["endsAt"] == row.ends_at},
            "entries": [{"application_id": e.application_id, "uscc": e.uscc, "enterprise_name": e.enterprise_name,
                         "amount_fen": e.amount} for e in entries],
            "objections": [objection_view(o) for o in objections]}


def list_notices(ctx: GatewayContext, policy_id: str | None = None) -> list[SubsidyNotice]:
    with ctx.sessions() as s:
        q = select(SubsidyNotice).order_by(SubsidyNotice.opened_at.desc())
        if policy_id:
            q = q.where(SubsidyNotice.policy_id == policy_id.lower())
        return list(s.scalars(q))


# ---------------------------------------------------------------------------- objections

def objection_view(o: SubsidyObjection) -> dict[str, Any]:
    return {"notice_id": o.notice_id, "number": o.number, "application_id": o.application_id,
            "text_sha256": o.text_sha256, "filed_by_kind": o.filed_by_kind, "filed_at": o.filed_at,
            "tx_hash": o.tx_hash, "status": o.status, "answer_sha256": o.answer_sha256, "answered_by": o.answered_by,
            "answered_at": o.answered_at, "answer_tx_hash": o.answer_tx_hash}


def file_objection(ctx: GatewayContext, notice_id: str, application_id: str, text: str, *, kind: str,
                   filed_by: str) -> SubsidyObjection:
    """File an objection through the gateway's OPERATOR key; the text is stored off-chain (anchored)."""
    row = get_notice(ctx, notice_id)
    if not text or not text.strip() or len(text) > 5000:
        raise FundError("invalid_objection", "an objection needs a text of 1-5000 characters")
    app_id = application_id.lower()
    b32(app_id, "application_id")
    account = operator_key(ctx)
    sha = store_json(ctx, {"kind": "subsidy-objection", "notice_id": row.id, "application_id": app_id, "text": text,
                           "filed_by_kind": kind}, department=ctx.settings.gateway.service_department,
                     uploaded_by=account.address, name="objection.json")
    contract = ledger_contract(ctx)
    fn = contract.functions.fileObjection(b32(row.id), b32(app_id), bytes.fromhex(sha))
    tx = ctx.ledger.txm.transact(account, fn, f"objection on {row.id} against {app_id}")
    from web3.logs import DISCARD

    (event,) = contract.events.ObjectionFiled().process_receipt(tx.receipt, errors=DISCARD)
    with transaction(ctx.sessions) as s:
        obj = SubsidyObjection(notice_id=row.id, number=int(event["args"]["objectionId"]), application_id=app_id,
                               text_sha256=sha, filed_by_kind=kind, filed_by=filed_by[:64],
                               filed_at=tx.block_timestamp, tx_hash=tx.tx_hash, status="open")
        s.add(obj)
    return obj


def answer_objection(ctx: GatewayContext, account: LocalAccount, department: str, notice_id: str, number: int,
                     answer: str, upheld: bool) -> SubsidyObjection:
    """Answer an objection (POLICY member of the policy's department); upheld rejects the application."""
    notice = get_notice(ctx, notice_id)
    if not answer or not answer.strip() or len(answer) > 5000:
        raise FundError("invalid_answer", "an answer needs a text of 1-5000 characters")
    with ctx.sessions() as s:
        obj = s.scalar(select(SubsidyObjection).where(SubsidyObjection.notice_id == notice.id,
                                                      SubsidyObjection.number == number))
    if obj is None:
        raise FundError("unknown_objection", f"notice {notice.id} has no objection {number}", 404)
    sha = store_json(ctx, {"kind": "subsidy-objection-answer", "notice_id": notice.id, "objection": number,
                           "answer": answer, "upheld": upheld}, department=department, uploaded_by=account.address,
                     name="answer.json")
    fn = ledger_contract(ctx).functions.answerObjection(b32(notice.id), number, bytes.fromhex(sha), upheld)
    tx = ctx.ledger.txm.transact(account, fn, f"answer objection {number} on {notice.id}")
    with transaction(ctx.sessions) as s:
        obj = s.get(SubsidyObjection, obj.id)
        obj.status = "upheld" if upheld else "dismissed"
        obj.answer_sha256, obj.answered_by, obj.answered_at, obj.answer_tx_hash = (
            sha, account.address, tx.block_timestamp, tx.tx_hash)
    if upheld and on_chain_application(ctx, obj.application_id)["status"] == "rejected":
        set_front_half_status(ctx, [obj.application_id], "rejected")
        _mirror_decision(ctx, obj.application_id, account.address, tx.block_timestamp, tx.tx_hash)
    return obj


def notice_document(ctx: GatewayContext, notice: SubsidyNotice) -> dict[str, Any]:
    """The published list, from the vault, as anchored."""
    return json.loads(ctx.vault.get(notice.list_sha256))
