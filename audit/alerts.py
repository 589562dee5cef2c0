"""The alert store: findings in, alerts out — idempotently, keyed by ``Finding.key``.

* a new key → a new alert (history: ``raised``);
* the same key with a higher level → the same alert raised (history: ``level_raised``, with the
  facts before and after);
* the same or a lower level → unchanged, only ``last_seen`` moves;
* a key absent from a FULL scan of a scope that covers it, for an active alert → recorded as
  cleared (``cleared``), never deleted; if it comes back it is recorded as ``recurred``;
* a key whose alert was closed (销号) and whose condition comes back (cleared, then found again) or
  worsens → a NEW occurrence: a new alert with its own on-chain id (``alert_id_of(key, n)``), anchored,
  disposed and cased like any new alert; its history (``recurred``) and record (``recurrence_of``)
  name the closed alert, whose history gets ``recurred_as`` naming the new one. AuditTrail refuses
  anything on a closed alert id, so the same id could not be reused.

Every change that the chain should witness bumps the alert's ``version`` and writes an
``AuditRecord`` (canonical JSON) that ``audit.routing.anchor_pending`` anchors in the next
AuditTrail Merkle batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit.findings import Level, Finding
from audit.models import AuditAlert, AuditAlertEvent, AuditRecord
from chain.db import transaction
from chain.roles import code_to_bytes32

RECORD_FORMAT = "alliance-ledger/audit-alert@1"
ACTIVE, CLEARED = "active", "cleared"
OPEN = "open"
STATUSES = ("open", "rectified", "explained", "escalated", "case_opened", "closed")
LEVEL_NAMES = {Level.PROMPT: "prompt", Level.WARNING: "warning", Level.ALARM: "alarm"}


class AlertError(ValueError):
    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code = code
        self.status = status


def _plain(value: Any) -> Any:
    """numpy scalars (what vectorised rules hand over) as Python numbers; anything else as text."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept (what is hashed and anchored)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def hex32(data: bytes) -> str:
    return "0x" + data.hex()


def alert_id_of(point_id: str, subject_type: str, subject_id: str, occurrence: int = 1) -> str:
    """The alert's on-chain id: keccak256(abi.encode(point, subject type, subject id)) for the first
    occurrence of a key; keccak256(abi.encode(point, subject type, subject id, uint256 n)) for the
    n-th (a recurrence after the previous occurrence was closed)."""
    if occurrence == 1:
        return hex32(keccak(encode(["string", "string", "string"], [point_id, subject_type, subject_id])))
    if not isinstance(occurrence, int) or occurrence < 1:
        raise ValueError(f"occurrence must be a positive integer, got {occurrence!r}")
    return hex32(keccak(encode(["string", "string", "string", "uint256"],
                               [point_id, subject_type, subject_id, occurrence])))


def department_bytes(department: str | None) -> bytes:
    return code_to_bytes32(department) if department else bytes(32)


def record_hash(record_text: str) -> str:
    return hex32(keccak(record_text.encode("utf-8")))


def leaf_of(alert_id: str, department: str | None, rec_hash: str) -> str:
    """AuditTrail.alertLeaf: keccak256(abi.encode(alertId, department, recordHash))."""
    return hex32(keccak(encode(["bytes32", "bytes32", "bytes32"],
                               [bytes.fromhex(alert_id[2:]), department_bytes(department),
                                bytes.fromhex(rec_hash[2:])])))


@dataclass(frozen=True)
class ScanScope:
    """What a FULL scan covered: some points (None = all) over some subjects (None = all)."""

    points: frozenset[str] | None = None
    subjects: frozenset[tuple[str, str]] | None = None  # (subject_type, subject_id)

    def covers(self, alert: AuditAlert) -> bool:
        if self.points is not None and alert.point_id not in self.points:
            return False
        return self.subjects is None or (alert.subject_type, alert.subject_id) in self.subjects


@dataclass
class ApplyResult:
    """Alert ids by what happened to them."""

    new: list[str] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)
    recurred: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)

    @property
    def to_route(self) -> list[str]:
        """Alerts whose level is new to their audience: they are routed (told, held, cased)."""
        return self.new + self.raised + self.recurred

    def as_dict(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("new", "raised", "recurred", "unchanged", "cleared")}


def record_of(alert: AuditAlert) -> dict[str, Any]:
    """The alert's record as anchored: everything an inspector needs to know it was raised so."""
    return {
        "format": RECORD_FORMAT, "alert_id": alert.alert_id, "version": alert.version,
        "occurrence": alert.occurrence, "recurrence_of": alert.recurrence_of,
        "point_id": alert.point_id, "stage": alert.stage, "level": LEVEL_NAMES[Level(alert.level)],
        "subject_type": alert.subject_type, "subject_id": alert.subject_id, "department": alert.department,
        "application_id": alert.application_id, "amount_fen": alert.amount_fen,
        "facts": json.loads(alert.facts), "rule_version": alert.rule_version, "condition": alert.condition,
        "first_seen": alert.first_seen, "raised_at": alert.raised_at, "cleared_at": alert.cleared_at,
        "deadline_at": alert.deadline_at,
    }


_WRITTEN = "audit_records_written"  # Session.info key: the records this transaction wrote


def new_version(s: Session, alert: AuditAlert, now: int) -> AuditRecord:
    """Bump the alert's version and write its record, to be anchored in the next batch."""
    alert.version += 1
    s.flush()
    text = canonical(record_of(alert))
    rh = record_hash(text)
    rec = AuditRecord(alert_pk=alert.id, version=alert.version, record=text, record_hash=rh,
                      leaf=leaf_of(alert.alert_id, alert.department, rh), created_at=now)
    s.add(rec)
    s.info.setdefault(_WRITTEN, []).append(rec)
    return rec


def refresh_record(s: Session, alert: AuditAlert, now: int) -> AuditRecord:
    """Bring the alert's record up to date: rewrite its latest record when this very transaction wrote
    it (no other process has seen it, nothing on chain refers to it), else write a new version. A
    committed record is never rewritten: another gateway process may be anchoring it right now."""
    latest = s.scalar(select(AuditRecord).where(AuditRecord.alert_pk == alert.id)
                      .order_by(AuditRecord.version.desc()).limit(1))
    if latest is None or not any(latest is mine for mine in s.info.get(_WRITTEN, ())):
        return new_version(s, alert, now)
    text = canonical(record_of(alert))
    latest.record, latest.record_hash = text, record_hash(text)
    latest.leaf = leaf_of(alert.alert_id, alert.department, latest.record_hash)
    return latest


def history(s: Session, alert: AuditAlert, kind: str, at: int, **fields: Any) -> AuditAlertEvent:
    event = AuditAlertEvent(alert_pk=alert.id, kind=kind, at=at, **fields)
    s.add(event)
    return event


def _check(f: Finding) -> None:
    if not isinstance(f.level, Level):
        raise AlertError("invalid_finding", f"{f.point_id}: level {f.level!r} is not a Level")
    if not f.point_id or not f.subject_type or not f.subject_id or not f.rule_version:
        raise AlertError("invalid_finding", f"finding {f.key} lacks a point, subject or rule version")


def _worst(findings: Iterable[Finding]) -> dict[tuple[str, str, str], Finding]:
    """One finding per key: the highest level (first of equals) — a scan may report a key twice."""
    out: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        _check(f)
        prior = out.get(f.key)
        if prior is None or f.level > prior.level:
            out[f.key] = f
    return out


def apply_findings(sessions: sessionmaker[Session], findings: Iterable[Finding], now: int, *,
                   full_scan: ScanScope | None = None,
                   route: Callable[[Session, AuditAlert], Any] | None = None) -> ApplyResult:
    """Persist a scan's findings in one transaction; see the module docstring for the rules.

    ``full_scan`` is the scope a FULL scan covered: active alerts in it whose key was not found are
    recorded as cleared. An event-driven (partial) scan passes None and clears nothing.
    ``route(session, alert)`` is called, in the same transaction, for every new, raised or recurred
    alert just before its record is written (so what routing sets, e.g. a deadline, is in the record).
    """
    found = _worst(findings)
    result = ApplyResult()
    with transaction(sessions) as s:
        existing = _alerts_for(s, found.keys())
        for key, f in found.items():
            facts = canonical(f.facts)
            alert = existing.get(key)
            if alert is None:
                alert = _open(s, f, facts, now, 1)
                history(s, alert, "raised", now, level_after=int(f.level), facts_after=facts,
                        rule_version=f.rule_version)
                _routed(s, alert, route)
                new_version(s, alert, now)
                result.new.append(alert.alert_id)
                continue
            if alert.status == "closed" and (alert.condition == CLEARED or f.level > alert.level):
                closed = alert
                alert = _open(s, f, facts, now, closed.occurrence + 1, recurrence_of=closed.alert_id)
                why = "came back after it cleared" if closed.condition == CLEARED else "worsened"
                history(s, alert, "recurred", now, level_before=closed.level, level_after=int(f.level),
                        facts_before=closed.facts, facts_after=facts, rule_version=f.rule_version,
                        note=f"the condition of closed (销号) alert {closed.alert_id} {why}: "
                             f"occurrence {alert.occurrence}")
                history(s, closed, "recurred_as", now, note=f"the condition {why}; new alert {alert.alert_id} "
                        f"(occurrence {alert.occurrence})")
                _routed(s, alert, route)
                new_version(s, alert, now)
                result.recurred.append(alert.alert_id)
                continue
            alert.last_seen = now
            if alert.condition == CLEARED:
                before_level, before_facts = alert.level, alert.facts
                alert.condition, alert.cleared_at = ACTIVE, None
                _take(alert, f, facts, now)
                history(s, alert, "recurred", now, level_before=before_level, level_after=int(f.level),
                        facts_before=before_facts, facts_after=facts, rule_version=f.rule_version)
                _routed(s, alert, route)
                new_version(s, alert, now)
                result.recurred.append(alert.alert_id)
            elif f.level > alert.level:
                before_level, before_facts = alert.level, alert.facts
                _take(alert, f, facts, now)
                if alert.status in ("rectified", "explained"):
                    alert.status = OPEN  # the condition worsened after it was reported fixed
                history(s, alert, "level_raised", now, level_before=before_level, level_after=int(f.level),
                        facts_before=before_facts, facts_after=facts, rule_version=f.rule_version)
                _routed(s, alert, route)
                new_version(s, alert, now)
                result.raised.append(alert.alert_id)
            else:
                result.unchanged.append(alert.alert_id)
        if full_scan is not None:
            query = select(AuditAlert).where(AuditAlert.condition == ACTIVE)
            if full_scan.points is not None:
                query = query.where(AuditAlert.point_id.in_(sorted(full_scan.points)))
            for alert in s.scalars(query):
                key = (alert.point_id, alert.subject_type, alert.subject_id)
                if key in found or not full_scan.covers(alert):
                    continue
                alert.condition, alert.cleared_at = CLEARED, now
                history(s, alert, "cleared", now, level_before=alert.level, facts_before=alert.facts)
                new_version(s, alert, now)
                result.cleared.append(alert.alert_id)
    return result


def _routed(s: Session, alert: AuditAlert, route: Callable[[Session, AuditAlert], Any] | None) -> None:
    if route is not None:
        s.flush()
        route(s, alert)


def _take(alert: AuditAlert, f: Finding, facts: str, now: int) -> None:
    alert.level = int(f.level)
    alert.max_level = max(alert.max_level, int(f.level))
    alert.facts, alert.rule_version, alert.raised_at = facts, f.rule_version, now
    if f.amount_fen is not None:
        alert.amount_fen = f.amount_fen
    if f.application_id:
        alert.application_id = f.application_id


def _open(s: Session, f: Finding, facts: str, now: int, occurrence: int, *,
          recurrence_of: str | None = None) -> AuditAlert:
    alert = AuditAlert(
        alert_id=alert_id_of(*f.key, occurrence), key_id=alert_id_of(*f.key), occurrence=occurrence,
        recurrence_of=recurrence_of, point_id=f.point_id, stage=f.stage, subject_type=f.subject_type,
        subject_id=f.subject_id, department=f.department, application_id=f.application_id,
        amount_fen=f.amount_fen, level=int(f.level), max_level=int(f.level), condition=ACTIVE,
        status=OPEN, facts=facts, rule_version=f.rule_version, first_seen=now, last_seen=now,
        raised_at=now, hold_status="none", amount_recovered_fen=0, version=0)
    s.add(alert)
    s.flush()
    return alert


def _alerts_for(s: Session, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], AuditAlert]:
    """The latest occurrence of each key's alert (queried by key id, in chunks)."""
    ids = [alert_id_of(*k) for k in keys]
    out: dict[tuple[str, str, str], AuditAlert] = {}
    for start in range(0, len(ids), 500):
        for a in s.scalars(select(AuditAlert).where(AuditAlert.key_id.in_(ids[start:start + 500]))):
            key = (a.point_id, a.subject_type, a.subject_id)
            if key not in out or a.occurrence > out[key].occurrence:
                out[key] = a
    return out


# ---------------------------------------------------------------------------- reads

def get(sessions: sessionmaker[Session], alert_id: str) -> AuditAlert:
    with sessions() as s:
        alert = s.scalar(select(AuditAlert).where(AuditAlert.alert_id == alert_id.lower()))
    if alert is None:
        raise AlertError("alert_not_found", f"no alert {alert_id}", 404)
    return alert


def events_of(sessions: sessionmaker[Session], alert: AuditAlert) -> list[AuditAlertEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditAlertEvent).where(AuditAlertEvent.alert_pk == alert.id)
                              .order_by(AuditAlertEvent.id)))


def records_of(sessions: sessionmaker[Session], alert: AuditAlert) -> list[AuditRecord]:
    with sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.alert_pk == alert.id)
                              .order_by(AuditRecord.version)))


def listing(sessions: sessionmaker[Session], *, department: str | None = None, level: int | None = None,
            status: str | None = None, point_id: str | None = None, condition: str | None = None,
            limit: int = 200, offset: int = 0) -> list[AuditAlert]:
    query = select(AuditAlert)
    if department is not None:
        query = query.where(AuditAlert.department == department)
    if level is not None:
        query = query.where(AuditAlert.level == level)
    if status is not None:
        query = query.where(AuditAlert.status == status)
    if point_id is not None:
        query = query.where(AuditAlert.point_id == point_id)
    if condition is not None:
        query = query.where(AuditAlert.condition == condition)
    with sessions() as s:
        return list(s.scalars(query.order_by(AuditAlert.level.desc(), AuditAlert.id).limit(limit).offset(offset)))


def summary(alert: AuditAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id, "occurrence": alert.occurrence, "recurrence_of": alert.recurrence_of,
        "point_id": alert.point_id, "stage": alert.stage,
        "level": LEVEL_NAMES[Level(alert.level)], "max_level": LEVEL_NAMES[Level(alert.max_level)],
        "condition": alert.condition, "status": alert.status, "subject_type": alert.subject_type,
        "subject_id": alert.subject_id, "department": alert.department, "application_id": alert.application_id,
        "amount_fen": alert.amount_fen, "facts": json.loads(alert.facts), "rule_version": alert.rule_version,
        "first_seen": alert.first_seen, "last_seen": alert.last_seen, "raised_at": alert.raised_at,
        "cleared_at": alert.cleared_at, "deadline_at": alert.deadline_at, "hold_status": alert.hold_status,
        "hold_tx": alert.hold_tx, "amount_recovered_fen": alert.amount_recovered_fen, "version": alert.version,
    }
