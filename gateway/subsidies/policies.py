"""Subsidy policies (发布): publish, amend (versioned), close; the eligibility rule language and the
amount rule.

Eligibility criteria (machine-readable, evaluated over attested facts, see
:func:`gateway.subsidies.autoverify.enterprise_facts` for the fact names)::

    rule      := {"all": [rule, ...]} | {"any": [rule, ...]} | {"not": rule} | condition
    condition := {"fact": NAME, "op": OP, "value": VALUE}
    OP        := "==" | "!=" | ">=" | ">" | "<=" | "<"       (numbers, strings, ISO dates)
               | "in" | "not_in"                              (VALUE a list)
               | "contains"                                   (a text fact contains VALUE, or a list fact
                                                               holds VALUE, e.g. licence_types)
               | "exists"                                     (VALUE true/false: the fact is attested)

A fact that is not attested makes its condition false (and "unknown" in the result), never true.
``{"all": []}`` is the rule "everyone". Example: registered here, active, capital at least 1,000,000
yuan, a high-tech certificate::

    {"all": [{"fact": "status", "op": "==", "value": "active"},
             {"fact": "registered_capital_fen", "op": ">=", "value": 100000000},
             {"fact": "licence_types", "op": "contains", "value": "HIGH_TECH_ENTERPRISE_CERTIFICATE"}]}

Amount rule (fen)::

    {"kind": "requested"}                                   approve what was requested (≤ cap)
    {"kind": "fixed", "amount_fen": N}                      N (≤ requested, ≤ cap)
    {"kind": "proportional", "fact": NAME, "rate_bp": R}    fact × R / 10000 (basis points), ≤ cap

A no-application policy (免申即享) needs "fixed" or "proportional" (nobody requests an amount).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.db import transaction
from chain.errors import TransactionPending
from chain.roles import code_to_bytes32
from gateway.context import GatewayContext
from gateway.documents.vault import VaultError
from gateway.services import documents
from gateway.subsidies.models import SubsidyPendingStep, SubsidyPolicy, SubsidyPolicyMaterial, SubsidyPolicyVersion

OPS = ("==", "!=", ">=", ">", "<=", "<", "in", "not_in", "contains", "exists")
AMOUNT_KINDS = ("requested", "fixed", "proportional")
CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
MAX_RULE_DEPTH = 8
MAX_MATERIALS = 50
DAY = 86400


class SubsidyError(ValueError):
    """A refusal of the subsidy services: ``code`` is machine-readable, ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code = code
        self.status = status


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def b32(value: str, what: str = "id") -> bytes:
    if not isinstance(value, str) or not HEX32.match(value):
        raise SubsidyError(f"invalid_{what}", f"{what} must be 0x followed by 64 hexadecimal characters")
    return bytes.fromhex(value[2:])


# ---------------------------------------------------------------------------- rule language

def check_rule(rule: Any, depth: int = 0, where: str = "criteria") -> None:
    """Raise ``invalid_criteria`` naming the first problem of a rule."""
    def bad(message: str) -> SubsidyError:
        return SubsidyError("invalid_criteria", f"{where}: {message}")

    if depth > MAX_RULE_DEPTH:
        raise bad(f"nested deeper than {MAX_RULE_DEPTH}")
    if not isinstance(rule, dict):
        raise bad("a rule is an object")
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        if set(rule) != {key} or not isinstance(rule[key], list):
            raise bad(f'"{key}" takes a list of rules and nothing else')
        for n, sub in enumerate(rule[key]):
            check_rule(sub, depth + 1, f"{where}.{key}[{n}]")
        return
    if "not" in rule:
        if set(rule) != {"not"}:
            raise bad('"not" takes one rule and nothing else')
        check_rule(rule["not"], depth + 1, f"{where}.not")
        return
    if set(rule) != {"fact", "op", "value"}:
        raise bad('a condition is {"fact", "op", "value"}')
    if not isinstance(rule["fact"], str) or not rule["fact"]:
        raise bad("fact must be a fact name")
    op, value = rule["op"], rule["value"]
    if op not in OPS:
        raise bad(f"op {op!r} is not one of {', '.join(OPS)}")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise bad(f"{op} takes a list value")
    if op == "exists" and not isinstance(value, bool):
        raise bad("exists takes true or false")
    if op in ("==", "!=", ">=", ">", "<=", "<", "contains") and not isinstance(value, (str, int, float, bool)):
        raise bad(f"{op} takes a number, text or boolean value")


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        return expected in actual if isinstance(actual, (str, list, tuple)) else False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        pass
    elif isinstance(actual, str) and isinstance(expected, str):
        pass  # ISO dates and codes compare as text
    else:
        return False
    return {">=": actual >= expected, ">": actual > expected, "<=": actual <= expected, "<": actual < expected}[op]


def evaluate(rule: dict[str, Any], facts: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """(met, the outcome of every condition: fact, op, expected, actual, outcome met/not_met/unknown)."""
    trace: list[dict[str, Any]] = []

    def run(r: dict[str, Any]) -> bool:
        if "all" in r:
            return all([run(s) for s in r["all"]])  # every condition is traced
        if "any" in r:
            return any([run(s) for s in r["any"]])
        if "not" in r:
            return not run(r["not"])
        name, op, expected = r["fact"], r["op"], r["value"]
        known = name in facts and facts[name] is not None
        if op == "exists":
            ok = known == expected
            trace.append({"fact": name, "op": op, "value": expected, "actual": known,
                          "outcome": "met" if ok else "not_met"})
            return ok
        if not known:
            trace.append({"fact": name, "op": op, "value": expected, "actual": None, "outcome": "unknown"})
            return False
        ok = _compare(op, facts[name], expected)
        trace.append({"fact": name, "op": op, "value": expected, "actual": facts[name],
                      "outcome": "met" if ok else "not_met"})
        return ok

    return run(rule), trace


def facts_used(rule: dict[str, Any]) -> set[str]:
    """The fact names a (checked) rule refers to."""
    if "all" in rule or "any" in rule:
        return set().union(*[facts_used(r) for r in rule.get("all", rule.get("any", []))])
    if "not" in rule:
        return facts_used(rule["not"])
    return {rule["fact"]}


def check_amount_rule(rule: Any, no_application: bool) -> None:
    if not isinstance(rule, dict) or rule.get("kind") not in AMOUNT_KINDS:
        raise SubsidyError("invalid_amount_rule", f"amount_rule.kind must be one of {', '.join(AMOUNT_KINDS)}")
    kind = rule["kind"]
    allowed = {"requested": {"kind"}, "fixed": {"kind", "amount_fen"}, "proportional": {"kind", "fact", "rate_bp"}}
    if set(rule) != allowed[kind]:
        raise SubsidyError("invalid_amount_rule", f"amount_rule of kind {kind} takes exactly {sorted(allowed[kind])}")
    if kind == "fixed" and not (isinstance(rule["amount_fen"], int) and rule["amount_fen"] > 0):
        raise SubsidyError("invalid_amount_rule", "amount_fen must be a positive integer (fen)")
    if kind == "proportional" and not (isinstance(rule["rate_bp"], int) and 0 < rule["rate_bp"] <= 10000
                                       and isinstance(rule["fact"], str) and rule["fact"]):
        raise SubsidyError("invalid_amount_rule", "rate_bp must be an integer from 1 to 10000 and fact a fact name")
    if no_application and kind == "requested":
        raise SubsidyError("invalid_amount_rule", "a no-application policy cannot grant the requested amount: "
                           "use fixed or proportional")


def amount_for(rule: dict[str, Any], facts: dict[str, Any], cap: int, requested: int | None) -> int:
    """The amount (fen) the rule grants, ≤ cap and ≤ requested; 0 when the rule's fact is not attested."""
    kind = rule["kind"]
    if kind == "requested":
        amount = requested or 0
    elif kind == "fixed":
        amount = rule["amount_fen"]
    else:
        value = facts.get(rule["fact"])
        amount = value * rule["rate_bp"] // 10000 if isinstance(value, int) and not isinstance(value, bool) else 0
    amount = min(amount, cap)
    if requested is not None:
        amount = min(amount, requested)
    return max(amount, 0)


# ---------------------------------------------------------------------------- steps and their transactions

@dataclass(frozen=True)
class Mined:
    """Where a step's transaction landed."""

    tx_hash: str
    block_number: int
    block_timestamp: int


Applier = Callable[[Session, GatewayContext, dict[str, Any], Mined], None]
APPLIERS: dict[str, Applier] = {}


def applier(kind: str) -> Callable[[Applier], Applier]:
    """Register the function that writes the gateway's record of a mined step of ``kind``."""
    def register(fn: Applier) -> Applier:
        APPLIERS[kind] = fn
        return fn

    return register


def send_step(ctx: GatewayContext, account: LocalAccount, fn: Any, purpose: str, kind: str,
              payload: dict[str, Any]) -> Mined:
    """Send ``fn`` signed by ``account`` and write its record (``APPLIERS[kind]`` over ``payload``).

    The step is written BEFORE the transaction is sent: a refused transaction drops it (nothing
    written); a mined one is recorded in the same database transaction that deletes the step; one
    journaled but unconfirmed when the request gives up (``TransactionPending``, answered 202) stays,
    and :func:`settle_steps` records it once the journal's transaction is on chain."""
    with transaction(ctx.sessions) as s:
        step = SubsidyPendingStep(kind=kind, purpose="", payload=json.dumps(payload, ensure_ascii=False))
        s.add(step)
        s.flush()
        step.purpose = f"{purpose} #step{step.id}"[:200]
        step_id, full_purpose = step.id, step.purpose
    try:
        tx = ctx.ledger.txm.transact(account, fn, full_purpose)
    except TransactionPending:
        raise
    except BaseException:
        _drop_step(ctx, step_id)
        raise
    mined = Mined(tx.tx_hash, tx.block_number, tx.block_timestamp)
    _apply_step(ctx, step_id, mined)
    return mined


def _drop_step(ctx: GatewayContext, step_id: int) -> None:
    with transaction(ctx.sessions) as s:
        step = s.get(SubsidyPendingStep, step_id)
        if step is not None:
            s.delete(step)


def _apply_step(ctx: GatewayContext, step_id: int, mined: Mined) -> bool:
    with transaction(ctx.sessions) as s:
        step = s.get(SubsidyPendingStep, step_id)
        if step is None:
            return False  # settled meanwhile
        APPLIERS[step.kind](s, ctx, json.loads(step.payload), mined)
        s.delete(step)
    return True


def settle_steps(ctx: GatewayContext, min_age_seconds: float | None = None) -> int:
    """Record the steps whose transactions were mined after their request gave up; drop those the chain
    refused or that never reached the journal. Only steps older than ``min_age_seconds`` (default: the
    receipt timeout and a margin) are looked at, so a request still running is never raced.
    Returns how many were recorded."""
    from chain.journal import MINED, OPEN_STATUSES, JournalEntry
    from gateway.subsidies import applications, draws, reviews  # noqa: F401  (register their appliers)

    age = ctx.settings.chain.receipt_timeout + 30 if min_age_seconds is None else min_age_seconds
    now = datetime.now(timezone.utc)
    with ctx.sessions() as s:
        steps = list(s.scalars(select(SubsidyPendingStep).order_by(SubsidyPendingStep.id)))
    recorded = 0
    for step in steps:
        created = step.created_at.replace(tzinfo=step.created_at.tzinfo or timezone.utc)
        if (now - created).total_seconds() < age:
            continue
        with ctx.sessions() as s:
            entries = list(s.scalars(select(JournalEntry).where(JournalEntry.purpose == step.purpose)))
        mined = [e for e in entries if e.status == MINED]
        if mined:
            e = mined[0]
            recorded += _apply_step(ctx, step.id, Mined(e.tx_hash, int(e.block_number or 0),
                                                        int(e.block_timestamp or 0)))
        elif not any(e.status in OPEN_STATUSES for e in entries):
            _drop_step(ctx, step.id)  # refused, reverted, or never sent
    return recorded


# ---------------------------------------------------------------------------- drafts

@dataclass
class MaterialSpec:
    code: str
    name: str
    licence_types: list[str] = field(default_factory=list)


@dataclass
class PolicyDraft:
    title: str
    legal_basis_sha256: str
    budget_fen: int
    cap_fen: int
    opens_at: int
    closes_at: int
    notice_workdays: int
    payout_deadline_workdays: int
    criteria: dict[str, Any]
    amount_rule: dict[str, Any]
    materials: list[MaterialSpec] = field(default_factory=list)
    no_application: bool = False
    # the date the policy document itself was issued (印发日期), when it precedes this guide's publication: the
    # audit's PUB1 measures the guide's delay from it (None: the guide is published with the document)
    document_date: str | None = None


def check_draft(ctx: GatewayContext, draft: PolicyDraft) -> None:
    if not draft.title or len(draft.title) > 300:
        raise SubsidyError("invalid_title", "title must be 1-300 characters")
    for name in ("budget_fen", "cap_fen"):
        value = getattr(draft, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SubsidyError("invalid_amount", f"{name} must be a positive integer number of fen")
    if draft.cap_fen > draft.budget_fen:
        raise SubsidyError("cap_above_budget", "the per-enterprise cap cannot exceed the budget")
    if draft.opens_at >= draft.closes_at:
        raise SubsidyError("invalid_window", "the window must open before it closes")
    if not 1 <= draft.notice_workdays <= 60:
        raise SubsidyError("invalid_notice_period", "notice_workdays must be 1-60 working days")
    if not 1 <= draft.payout_deadline_workdays <= 250:
        raise SubsidyError("invalid_payout_deadline", "payout_deadline_workdays must be 1-250 working days")
    if draft.document_date is not None:
        try:
            issued = date.fromisoformat(str(draft.document_date))
        except ValueError:
            raise SubsidyError("invalid_date", "document_date is the policy document's issue date, YYYY-MM-DD") from None
        from gateway.subsidies.autoverify import chain_today

        today = chain_today(ctx)
        if issued > today:
            raise SubsidyError("invalid_date", f"document_date {issued} is after today ({today}): a guide follows "
                               "its policy document")
    check_rule(draft.criteria)
    check_amount_rule(draft.amount_rule, draft.no_application)
    known_types = {lt.code for lt in ctx.ledger.spec.licence_types}
    if len(draft.materials) > MAX_MATERIALS:
        raise SubsidyError("too_many_materials", f"at most {MAX_MATERIALS} materials")
    seen: set[str] = set()
    for m in draft.materials:
        if not CODE.match(m.code or "") or m.code in seen:
            raise SubsidyError("invalid_material", f"material code {m.code!r} is not a unique short code")
        seen.add(m.code)
        if not m.name or len(m.name) > 200:
            raise SubsidyError("invalid_material", f"material {m.code}: name must be 1-200 characters")
        unknown = [t for t in m.licence_types if t not in known_types]
        if unknown:
            raise SubsidyError("unknown_licence_type", f"material {m.code}: unknown licence type(s) {unknown}")


def _legal_basis(ctx: GatewayContext, sha256: str) -> str:
    """The leaf of the stored legal-basis document (what goes on chain as guideHash)."""
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise SubsidyError("invalid_digest", "legal_basis_sha256 is the SHA-256 of a stored document (64 hex)")
    try:
        return documents.receipt(ctx, sha256.lower())["leaf"]
    except VaultError:
        raise SubsidyError("legal_basis_not_found", f"no stored document {sha256}: upload it with POST /documents "
                           "first", 404) from None


def machine_readable(draft: PolicyDraft) -> dict[str, Any]:
    return {"criteria": draft.criteria, "amount_rule": draft.amount_rule,
            "materials": [asdict(m) for m in draft.materials]}


def criteria_hash(draft: PolicyDraft) -> bytes:
    """keccak256 of the canonical JSON of the criteria, amount rule and materials (on chain: criteriaHash)."""
    return keccak(canonical(machine_readable(draft)))


def rule_version(ctx: GatewayContext, crit_hash: bytes) -> bytes:
    """The 秒批 rule version recorded as the deciding party: the verifier's rule and the policy's criteria."""
    return keccak(canonical({"rule": ctx.settings.subsidies.autoverify_rule, "criteria_hash": hex32(crit_hash)}))


def terms_tuple(draft: PolicyDraft, guide: bytes, crit: bytes) -> tuple:
    return (draft.budget_fen, draft.cap_fen, draft.opens_at, draft.closes_at, draft.notice_workdays * DAY,
            draft.payout_deadline_workdays * DAY, guide, crit, draft.no_application)


def new_policy_id(department: str) -> bytes:
    return keccak(encode(["string", "bytes32", "bytes16"], ["policy", code_to_bytes32(department), uuid.uuid4().bytes]))


def _contract(ctx: GatewayContext):
    return ctx.ledger.contract("SubsidyLedger")


# ---------------------------------------------------------------------------- lifecycle

def publish(ctx: GatewayContext, account: LocalAccount, department: str, draft: PolicyDraft) -> SubsidyPolicy:
    """Publish a policy signed by the POLICY member ``account`` (the contract checks the role)."""
    check_draft(ctx, draft)
    guide = bytes.fromhex(_legal_basis(ctx, draft.legal_basis_sha256)[2:])
    crit = criteria_hash(draft)
    pid = new_policy_id(department)
    payload = {"policy_id": hex32(pid), "department": department, "by": account.address, "draft": asdict(draft),
               "guide": hex32(guide), "criteria_hash": hex32(crit)}
    send_step(ctx, account, _contract(ctx).functions.publishPolicy(pid, terms_tuple(draft, guide, crit)),
              f"publish policy {hex32(pid)}", "policy_published", payload)
    return get(ctx, hex32(pid))


def draft_of(data: dict[str, Any]) -> PolicyDraft:
    return PolicyDraft(**{**data, "materials": [MaterialSpec(**m) for m in data["materials"]]})


@applier("policy_published")
def _record_published(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    draft = draft_of(p["draft"])
    row = SubsidyPolicy(id=p["policy_id"], department=p["department"], published_by=p["by"],
                        published_at=mined.block_timestamp, tx_hash=mined.tx_hash, version=1, status="open")
    _fill(ctx, row, draft, b32(p["guide"]), b32(p["criteria_hash"]))
    s.add(row)
    s.flush()
    _set_materials(s, p["policy_id"], draft.materials)
    s.add(SubsidyPolicyVersion(policy_id=p["policy_id"], version=1, action="published", terms=_terms_json(draft),
                               by=p["by"], at=mined.block_timestamp, tx_hash=mined.tx_hash))


def _fill(ctx: GatewayContext, row: SubsidyPolicy, draft: PolicyDraft, guide: bytes, crit: bytes) -> None:
    row.title = draft.title
    row.legal_basis_sha256 = draft.legal_basis_sha256.lower()
    row.guide_hash = hex32(guide)
    row.criteria = json.dumps(draft.criteria, ensure_ascii=False, sort_keys=True)
    row.criteria_hash = hex32(crit)
    row.amount_rule = json.dumps(draft.amount_rule, sort_keys=True)
    row.rule_version = hex32(rule_version(ctx, crit))
    row.budget_fen, row.cap_fen = draft.budget_fen, draft.cap_fen
    row.opens_at, row.closes_at = draft.opens_at, draft.closes_at
    row.notice_workdays, row.notice_period_seconds = draft.notice_workdays, draft.notice_workdays * DAY
    row.payout_deadline_workdays = draft.payout_deadline_workdays
    row.payout_deadline_seconds = draft.payout_deadline_workdays * DAY
    row.no_application = draft.no_application


def reason_hash(reason: str) -> bytes:
    """The on-chain ``reasonHash`` of an amendment or closing: SHA-256 of the reason's UTF-8 text (the text
    is kept in ``subsidy_policy_versions``; anyone holding it can check it against the chain's
    ``PolicyChangeReason`` event)."""
    return hashlib.sha256(reason.encode("utf-8")).digest()


def _terms_json(draft: PolicyDraft, reason: str | None = None) -> str:
    return json.dumps(asdict(draft), ensure_ascii=False, sort_keys=True)


def _set_materials(s, policy_id: str, materials: list[MaterialSpec]) -> None:
    for old in s.scalars(select(SubsidyPolicyMaterial).where(SubsidyPolicyMaterial.policy_id == policy_id)):
        s.delete(old)
    s.flush()
    for n, m in enumerate(materials):
        s.add(SubsidyPolicyMaterial(policy_id=policy_id, code=m.code, name=m.name,
                                    licence_types=json.dumps(list(m.licence_types)), position=n))


def amend(ctx: GatewayContext, account: LocalAccount, policy_id: str, draft: PolicyDraft, reason: str) -> SubsidyPolicy:
    """Replace a policy's terms: the version goes up by one, the old terms stay in the version history."""
    row = get(ctx, policy_id)
    check_draft(ctx, draft)
    if not reason or len(reason) > 1000:
        raise SubsidyError("reason_required", "an amendment needs a reason (1-1000 characters)")
    guide = bytes.fromhex(_legal_basis(ctx, draft.legal_basis_sha256)[2:])
    crit = criteria_hash(draft)
    payload = {"policy_id": row.id, "by": account.address, "draft": asdict(draft), "guide": hex32(guide),
               "criteria_hash": hex32(crit), "reason": reason}
    send_step(ctx, account, _contract(ctx).functions.amendPolicy(b32(row.id), terms_tuple(draft, guide, crit),
                                                                  reason_hash(reason)),
              f"amend policy {row.id}", "policy_amended", payload)
    return get(ctx, row.id)


@applier("policy_amended")
def _record_amended(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    draft = draft_of(p["draft"])
    row = s.get(SubsidyPolicy, p["policy_id"])
    _fill(ctx, row, draft, b32(p["guide"]), b32(p["criteria_hash"]))
    row.version, row.amended_at = row.version + 1, mined.block_timestamp
    _set_materials(s, row.id, draft.materials)
    s.add(SubsidyPolicyVersion(policy_id=row.id, version=row.version, action="amended", terms=_terms_json(draft),
                               reason=p["reason"], by=p["by"], at=mined.block_timestamp, tx_hash=mined.tx_hash))


def close(ctx: GatewayContext, account: LocalAccount, policy_id: str, reason: str) -> SubsidyPolicy:
    row = get(ctx, policy_id)
    if not reason or len(reason) > 1000:
        raise SubsidyError("reason_required", "closing needs a reason (1-1000 characters)")
    send_step(ctx, account, _contract(ctx).functions.closePolicy(b32(row.id), reason_hash(reason)),
              f"close policy {row.id}",
              "policy_closed", {"policy_id": row.id, "by": account.address, "reason": reason})
    return get(ctx, row.id)


@applier("policy_closed")
def _record_closed(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    row = s.get(SubsidyPolicy, p["policy_id"])
    row.status, row.closed_by, row.closed_at = "closed", p["by"], mined.block_timestamp
    s.add(SubsidyPolicyVersion(policy_id=row.id, version=row.version, action="closed",
                               terms=json.dumps({"closed": True}), reason=p["reason"], by=p["by"],
                               at=mined.block_timestamp, tx_hash=mined.tx_hash))


# ---------------------------------------------------------------------------- reading

def get(ctx: GatewayContext, policy_id: str) -> SubsidyPolicy:
    b32(policy_id, "policy_id")
    with ctx.sessions() as s:
        row = s.get(SubsidyPolicy, policy_id.lower())
    if row is None:
        raise SubsidyError("policy_not_found", f"no policy {policy_id}", 404)
    return row


def materials_of(ctx: GatewayContext, policy_id: str) -> list[MaterialSpec]:
    with ctx.sessions() as s:
        rows = s.scalars(select(SubsidyPolicyMaterial).where(SubsidyPolicyMaterial.policy_id == policy_id)
                         .order_by(SubsidyPolicyMaterial.position))
        return [MaterialSpec(r.code, r.name, json.loads(r.licence_types)) for r in rows]


def versions(ctx: GatewayContext, policy_id: str) -> list[dict[str, Any]]:
    get(ctx, policy_id)
    with ctx.sessions() as s:
        rows = s.scalars(select(SubsidyPolicyVersion).where(SubsidyPolicyVersion.policy_id == policy_id.lower())
                         .order_by(SubsidyPolicyVersion.id))
        return [{"version": r.version, "action": r.action, "terms": json.loads(r.terms), "reason": r.reason,
                 "by": r.by, "at": r.at, "tx_hash": r.tx_hash} for r in rows]


def list_policies(ctx: GatewayContext, department: str | None = None, status: str | None = None) -> list[SubsidyPolicy]:
    with ctx.sessions() as s:
        q = select(SubsidyPolicy)
        if department:
            q = q.where(SubsidyPolicy.department == department)
        if status:
            q = q.where(SubsidyPolicy.status == status)
        return list(s.scalars(q.order_by(SubsidyPolicy.published_at, SubsidyPolicy.id)))


def chain_view(ctx: GatewayContext, policy_id: str) -> dict[str, Any]:
    """The contract's record of the policy: version, totals, closed."""
    from chain.structs import call_struct

    p = call_struct(_contract(ctx).functions.getPolicy(b32(policy_id)))
    return {"version": p["version"], "approved_total_fen": p["approvedTotal"], "paid_total_fen": p["paidTotal"],
            "recovered_total_fen": p["recoveredTotal"], "applications": p["applications"], "closed": p["closed"]}


def summary(ctx: GatewayContext, row: SubsidyPolicy, with_chain: bool = False, now: int | None = None
            ) -> dict[str, Any]:
    out = {"id": row.id, "department": row.department, "title": row.title, "version": row.version,
           "status": row.status, "legal_basis_sha256": row.legal_basis_sha256, "guide_hash": row.guide_hash,
           "budget_fen": row.budget_fen, "cap_fen": row.cap_fen, "opens_at": row.opens_at,
           "closes_at": row.closes_at, "open_now": None, "notice_workdays": row.notice_workdays,
           "payout_deadline_workdays": row.payout_deadline_workdays, "no_application": row.no_application,
           "criteria": json.loads(row.criteria), "criteria_hash": row.criteria_hash,
           "amount_rule": json.loads(row.amount_rule), "rule_version": row.rule_version,
           "materials": [asdict(m) for m in materials_of(ctx, row.id)],
           "published_by": row.published_by, "published_at": row.published_at, "amended_at": row.amended_at,
           "closed_by": row.closed_by, "closed_at": row.closed_at, "tx_hash": row.tx_hash}
    now = ctx.ledger.chain.now() if now is None else now
    out["open_now"] = row.status == "open" and row.opens_at <= now < row.closes_at
    if with_chain:
        out["chain"] = chain_view(ctx, row.id)
    return out


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise SubsidyError("invalid_date", f"{text!r} is not a date like 2026-01-31") from None
