"""The three layers: who is told, deadlines, escalation, holds, and the chain record.

* prompt 提示 → the handling officer's work list (audience ``officer`` of the department);
* warning 预警 → the department head (audience ``head``) with a rectification deadline of
  ``[audit] rectification_workdays`` working days; ``tick(now)`` escalates it to alarm when the
  deadline passes with no rectified / explained disposition;
* alarm 报警 → the discipline commission (audience ``commission``): the gateway's INSPECTOR key
  places an AuditHolds hold on the application (SubsidyLedger refuses its payout meanwhile) and
  opens a case (问题线索) on AuditTrail.

Chain work is done by ``settle``: anchor the pending alert records in one Merkle batch, record
escalations, place pending holds, open cases. It is resumable: what a crash or a gateway without
an INSPECTOR key leaves pending, the next ``settle`` finishes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audit import alerts as store
from audit.findings import Finding, Level
from audit.models import AuditAlert, AuditAlertEvent, AuditBatch, AuditDisposition, AuditNotice, AuditRecord
from chain.config import Settings
from chain.db import transaction
from chain.roles import bytes32_to_code
from gateway.documents.merkle import MerkleTree
from gateway.subsidies.calendar import WorkCalendar

log = logging.getLogger(__name__)
AUDIENCE = {Level.PROMPT: "officer", Level.WARNING: "head", Level.ALARM: "commission"}
DISPOSITIONS = {"rectified": 1, "explained": 2, "escalated": 3, "case_opened": 4, "closed": 5}
ENDED = ("rectified", "explained", "closed")  # a warning so disposed does not escalate


class AuditChain:
    """The audit contracts (AuditTrail, AuditHolds, the registry) and a way to send signed transactions.

    ``transact(account, fn, purpose)`` returns a result with ``tx_hash``, ``block_number`` and
    ``block_timestamp`` and raises ``chain.errors.ContractRevert`` naming the contract's error (the
    ledger's TxManager does both); ``system_account()`` is this gateway's INSPECTOR key or None.
    """

    def __init__(self, w3: Any, contracts: dict[str, Any], transact: Callable[[Any, Any, str], Any],
                 system_account: Callable[[], Any]):
        self.w3 = w3
        self.contracts = contracts
        self.trail = contracts["AuditTrail"]
        self.holds = contracts["AuditHolds"]
        self.registry = contracts["AllianceRegistry"]
        self._transact = transact
        self._system_account = system_account

    @classmethod
    def from_ledger(cls, ledger: Any) -> "AuditChain":
        def system_account() -> LocalAccount | None:
            for member in ledger.spec.members:
                if "inspector" in member.roles and member.alias in ledger.keyring:
                    return ledger.keyring.account(member.alias)
            return None

        contracts = {name: ledger.contract(name) for name in ("AuditTrail", "AuditHolds", "AllianceRegistry")}
        return cls(ledger.chain.w3, contracts, ledger.txm.transact, system_account)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def system_account(self) -> Any:
        """This gateway's key of an INSPECTOR member (the commission), or None when it holds none."""
        return self._system_account()

    def transact(self, account: Any, fn: Any, purpose: str) -> Any:
        return self._transact(account, fn, purpose)

    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.items()}


@dataclass
class AuditEnv:
    """What the audit services need: the database, the settings, and the chain (None = off-chain only)."""

    sessions: sessionmaker[Session]
    settings: Settings
    chain: AuditChain | None = None
    #: REV6's comparison of an application row with the chain's record (audit.loader.chain_checker), None
    #: without a gateway context
    chain_check: Callable[[Any], bool | None] | None = None
    #: APP1's standing of licence-backed materials (audit.loader.licence_checker), None without a gateway context
    licence_check: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None
    #: the alliance secret: drawn agencies keyed as registry parties (REV3), None without a gateway context
    hmac_key: bytes | None = None
    calendar: WorkCalendar = field(init=False)

    def __post_init__(self) -> None:
        from chain.config import ConfigError

        self.calendar = WorkCalendar.from_settings(self.settings.calendar)
        audit = self.settings.audit
        for name in ("rectification_workdays", "case_step_workdays", "anchor_batch_size", "tick_seconds"):
            if getattr(audit, name) < 1:
                raise ConfigError(f"[audit] {name} must be at least 1, got {getattr(audit, name)}")
        if not 0 <= audit.yellow_workdays < audit.case_step_workdays:
            raise ConfigError(f"[audit] yellow_workdays must be from 0 to case_step_workdays - 1, "
                              f"got {audit.yellow_workdays}")

    @classmethod
    def from_context(cls, ctx: Any) -> "AuditEnv":
        env = getattr(ctx, "_audit_env", None)
        if env is None:
            from audit.loader import chain_checker, licence_checker

            ledger = getattr(ctx, "ledger", None)
            # no index catch-up in the licence check: the live snapshot loads inside the indexer's listener, and
            # the running gateway's indexer keeps the index current
            env = cls(ctx.sessions, ctx.settings, AuditChain.from_ledger(ledger),
                      chain_checker(ctx) if ledger is not None else None,
                      licence_checker(ctx, catch_up=False) if ledger is not None else None,
                      getattr(ctx, "hmac_key", None))
            setattr(ctx, "_audit_env", env)
        return env


def note_hash(note: str) -> bytes:
    return keccak(note.encode("utf-8"))


# ---------------------------------------------------------------------------- routing

def route(s: Session, env: AuditEnv, alert: AuditAlert, now: int) -> AuditNotice:
    """Tell the alert's audience at its level; a warning gets its rectification deadline, an alarm
    is marked for a hold (when there is an application to hold)."""
    level = Level(alert.level)
    deadline = None
    if level == Level.WARNING:
        deadline = env.calendar.deadline_after(now, env.settings.audit.rectification_workdays)
        alert.deadline_at = deadline
    if level == Level.ALARM:
        alert.deadline_at = None
        if _holdable(alert.application_id) and alert.hold_status == "none":
            alert.hold_status = "pending"
    notice = AuditNotice(alert_pk=alert.id, level=int(level), audience=AUDIENCE[level], department=alert.department,
                         deadline_at=deadline, at=now)
    s.add(notice)
    return notice


def process(env: AuditEnv, findings: Iterable[Finding], now: int, *, full_scan: store.ScanScope | None = None,
            settle_chain: bool = True) -> store.ApplyResult:
    """Persist findings, route what is new or worse, then settle the chain side."""

    def tell(s: Session, alert: AuditAlert) -> None:
        notice = route(s, env, alert, now)
        if alert.recurrence_of and alert.first_seen == now and notice.audience != "commission":
            # a condition back after the commission closed (销号) it: the commission is told too
            s.add(AuditNotice(alert_pk=alert.id, level=alert.level, audience="commission",
                              department=alert.department, deadline_at=None, at=now))

    findings = list(findings)
    for attempt in range(3):
        try:
            result = store.apply_findings(env.sessions, findings, now, full_scan=full_scan, route=tell)
            break
        except IntegrityError:
            # another thread or gateway process opened the same alert first (the unique key on
            # point/subject/occurrence refused ours): applying again finds it and updates it instead
            if attempt == 2:
                raise
            log.info("audit: an alert was opened concurrently; applying the findings again")
    if settle_chain and env.chain is not None:
        settle(env, now)
    return result


def tick(env: AuditEnv, now: int, *, settle_chain: bool = True) -> dict[str, int]:
    """Escalate warnings whose rectification deadline passed unrectified, run the case timers, settle."""
    from audit import cases

    escalated = 0
    with transaction(env.sessions) as s:
        overdue = s.scalars(select(AuditAlert).where(
            AuditAlert.level == int(Level.WARNING), AuditAlert.condition == store.ACTIVE,
            AuditAlert.deadline_at.is_not(None), AuditAlert.deadline_at < now,
            AuditAlert.status.not_in(ENDED)))
        for alert in overdue:
            before = alert.level
            alert.level = alert.max_level = int(Level.ALARM)
            alert.raised_at, alert.status = now, "escalated"
            store.history(s, alert, "escalated", now, level_before=before, level_after=int(Level.ALARM),
                          facts_before=alert.facts, facts_after=alert.facts, rule_version=alert.rule_version,
                          note=f"rectification deadline {alert.deadline_at} passed without rectification")
            route(s, env, alert, now)
            store.refresh_record(s, alert, now)
            escalated += 1
    overdue_cases = cases.tick(env, now)
    if settle_chain and env.chain is not None:
        settle(env, now)
    return {"escalated": escalated, "cases_escalated": overdue_cases}


# ---------------------------------------------------------------------------- chain side

def anchor_pending(env: AuditEnv) -> AuditBatch | None:
    """Anchor every unanchored alert record (up to the batch size per transaction) in Merkle batches.

    Safe with several gateway processes on one database: no two anchor the same record and no
    record's batch is overwritten. A committed record is never rewritten (``alerts.refresh_record``
    writes a new version instead), so only the claim needs guarding. PostgreSQL: the records of a
    batch are claimed ``SELECT … FOR UPDATE SKIP LOCKED`` in a transaction held while the root is
    anchored and recorded — another process takes the next unclaimed records, or none. SQLite (one
    gateway process, a single writer): a lock per database serialises the claims, and the records are
    marked only where still unbatched."""
    chain = _chain(env)
    account = chain.system_account()
    if account is None:
        return None
    last = None
    while True:
        batch = _anchor_batch(env, chain, account)
        if batch is None:
            return last
        last = batch


_SQLITE_ANCHOR_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _sqlite_lock(env: AuditEnv) -> threading.Lock:
    key = str(env.sessions.kw["bind"].url)
    with _LOCKS_GUARD:
        return _SQLITE_ANCHOR_LOCKS.setdefault(key, threading.Lock())


def _anchor_batch(env: AuditEnv, chain: AuditChain, account: Any) -> AuditBatch | None:
    """Claim up to a batch of unanchored records, anchor their Merkle root and record it; None when none."""
    if env.sessions.kw["bind"].dialect.name == "postgresql":
        with env.sessions() as s, s.begin():
            pending = list(s.scalars(_pending_query(env).with_for_update(skip_locked=True)))
            return _send_and_record(s, chain, account, pending) if pending else None
    with _sqlite_lock(env):
        with env.sessions() as s:
            pending = list(s.scalars(_pending_query(env)))
        if not pending:
            return None
        with env.sessions() as s, s.begin():
            return _send_and_record(s, chain, account, pending)


def _pending_query(env: AuditEnv):
    return (select(AuditRecord).where(AuditRecord.batch_pk.is_(None)).order_by(AuditRecord.id)
            .limit(env.settings.audit.anchor_batch_size))


def _send_and_record(s: Session, chain: AuditChain, account: Any, pending: list[AuditRecord]) -> AuditBatch:
    from chain.errors import ContractRevert

    tree = MerkleTree([bytes.fromhex(r.leaf[2:]) for r in pending])
    root = "0x" + tree.root.hex()
    try:
        result = chain.transact(account, chain.trail.functions.anchorAlerts(tree.root, len(pending)),
                                f"audit alerts batch {root}")
        tx_hash, block_number, at = result.tx_hash, result.block_number, result.block_timestamp
    except ContractRevert as exc:
        if exc.error != "BatchExists":
            raise
        # anchored by an earlier attempt whose database commit was lost: take the chain's record of it
        tx_hash, block_number, at = _anchored_batch(chain, tree.root)
    batch = AuditBatch(root=root, count=len(pending), tx_hash=tx_hash, block_number=block_number, anchored_at=at)
    s.add(batch)
    s.flush()
    for rec, proof in zip(pending, tree.proofs_hex()):
        marked = s.execute(update(AuditRecord).where(AuditRecord.id == rec.id, AuditRecord.batch_pk.is_(None),
                                                     AuditRecord.leaf == rec.leaf)
                           .values(batch_pk=batch.id, proof=json.dumps(["0x" + p for p in proof])))
        if marked.rowcount != 1:  # cannot happen under the claim; refuse rather than overwrite a batch
            raise store.AlertError("anchor_conflict", f"alert record {rec.id} was batched or changed while "
                                   f"batch {root} was anchored", 409)
    return batch


def _anchored_batch(chain: AuditChain, root: bytes) -> tuple[str, int, int]:
    """(tx hash, block, time) of a root already anchored on AuditTrail, from its BatchAnchored log."""
    info = chain.trail.functions.getBatch(root).call()
    block_number, at = int(info[0]), int(info[1])
    logs = chain.trail.events.BatchAnchored().get_logs(from_block=block_number, to_block=block_number,
                                                      argument_filters={"root": root})
    tx_hash = "0x" + bytes(logs[0]["transactionHash"]).hex() if logs else "0x" + "00" * 32
    return tx_hash, block_number, at


def latest_anchored(s: Session, alert: AuditAlert) -> tuple[AuditRecord, AuditBatch]:
    rec = s.scalar(select(AuditRecord).where(AuditRecord.alert_pk == alert.id, AuditRecord.batch_pk.is_not(None))
                   .order_by(AuditRecord.version.desc()).limit(1))
    if rec is None:
        raise store.AlertError("alert_not_anchored", f"alert {alert.alert_id} has no anchored record yet", 409)
    return rec, s.get(AuditBatch, rec.batch_pk)


def alert_ref(s: Session, alert: AuditAlert) -> tuple:
    """(alertId, department, recordHash, root, proof) of the alert's latest anchored record."""
    rec, batch = latest_anchored(s, alert)
    return (bytes.fromhex(alert.alert_id[2:]), store.department_bytes(alert.department),
            bytes.fromhex(rec.record_hash[2:]), bytes.fromhex(batch.root[2:]),
            [bytes.fromhex(p[2:]) for p in json.loads(rec.proof)])


_SETTLE_LOCKS: dict[int, threading.RLock] = {}
SETTLE_LOCK_KEY = 0x417564697453  # pg advisory lock key of the audit settlement ("AuditS")


@contextmanager
def _settling(env: AuditEnv) -> Iterator[bool]:
    """One settlement at a time: per database engine within a process (the timer thread and API requests
    wait for each other), and across gateway processes on PostgreSQL by a transaction-level advisory
    lock — a process that finds it taken skips this round (the holder settles what is pending; the
    next round catches up). Yields whether this caller holds it."""
    engine = env.sessions.kw["bind"]
    with _LOCKS_GUARD:
        local = _SETTLE_LOCKS.setdefault(id(engine), threading.RLock())
    with local:
        if engine.dialect.name != "postgresql":
            yield True
            return
        with env.sessions() as s, s.begin():
            yield bool(s.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SETTLE_LOCK_KEY}))


def settle(env: AuditEnv, now: int) -> dict[str, int]:
    """Anchor pending records, record pending escalations, place pending holds, open cases for alarms.
    Several gateways may call it at once: one settles, the others skip (see ``_settling``)."""
    chain = _chain(env)
    account = chain.system_account()
    done = {"escalations": 0, "holds": 0, "cases": 0}
    if account is None:
        return done
    with _settling(env) as mine:
        if not mine:
            anchor_pending(env)  # safe concurrently (records are claimed); the rest waits for the holder
            return done
        return _settle(env, chain, account, now, done)


def _settle(env: AuditEnv, chain: AuditChain, account: Any, now: int, done: dict[str, int]) -> dict[str, int]:
    from audit import cases

    anchor_pending(env)
    with env.sessions() as s:
        unrecorded = list(s.scalars(select(AuditAlertEvent).where(AuditAlertEvent.kind == "escalated",
                                                                  AuditAlertEvent.tx_hash.is_(None))))
    for event in unrecorded:
        with env.sessions() as s:
            alert = s.get(AuditAlert, event.alert_pk)
            if not _anchored(s, alert):
                continue
            ref = alert_ref(s, alert)
        note = event.note or "rectification deadline passed"
        result = chain.transact(account, chain.trail.functions.recordDisposition(*ref, DISPOSITIONS["escalated"],
                                                                                 note_hash(note)),
                                f"audit escalate {alert.alert_id}")
        with transaction(env.sessions) as s:
            s.get(AuditAlertEvent, event.id).tx_hash = result.tx_hash
            s.add(AuditDisposition(alert_pk=alert.id, kind="escalated", member=account.address,
                                   department=_department_of(chain, account.address), note=note,
                                   note_hash="0x" + note_hash(note).hex(), amount_recovered_fen=0,
                                   tx_hash=result.tx_hash, block_number=result.block_number,
                                   at=result.block_timestamp))
        done["escalations"] += 1
    with env.sessions() as s:
        to_hold = list(s.scalars(select(AuditAlert).where(AuditAlert.hold_status == "pending")))
    for alert in to_hold:
        with env.sessions() as s:
            if not _anchored(s, alert):
                continue
        place_hold(env, alert, account, now)
        done["holds"] += 1
    with env.sessions() as s:
        from audit.models import AuditCase

        cased = select(AuditCase.alert_pk)
        to_case = list(s.scalars(select(AuditAlert).where(AuditAlert.level == int(Level.ALARM),
                                                          AuditAlert.status != "closed",
                                                          AuditAlert.id.not_in(cased))))
    for alert in to_case:
        with env.sessions() as s:
            if not _anchored(s, alert):
                continue
        cases.open_case(env, alert.alert_id, account, f"alarm {alert.point_id} on {alert.subject_type} "
                        f"{alert.subject_id}: case opened automatically", now)
        done["cases"] += 1
    cases.record_escalations(env, account)
    return done


def _anchored(s: Session, alert: AuditAlert) -> bool:
    """Whether the alert has an anchored record (one another gateway is anchoring right now has not:
    what needs it waits for the next settlement)."""
    return s.scalar(select(AuditRecord.id).where(AuditRecord.alert_pk == alert.id,
                                                 AuditRecord.batch_pk.is_not(None)).limit(1)) is not None


def place_hold(env: AuditEnv, alert: AuditAlert, account: LocalAccount, now: int) -> str:
    """Freeze the alert's application on AuditHolds (evidence: the alarm's anchored record hash)."""
    chain = _chain(env)
    with env.sessions() as s:
        rec, _ = latest_anchored(s, alert)
    fn = chain.holds.functions.placeHold(bytes.fromhex(alert.application_id[2:]), bytes.fromhex(alert.alert_id[2:]),
                                         bytes.fromhex(rec.record_hash[2:]))
    result = chain.transact(account, fn, f"audit hold {alert.application_id} for {alert.alert_id}")
    with transaction(env.sessions) as s:
        row = s.get(AuditAlert, alert.id)
        row.hold_status, row.hold_tx = "placed", result.tx_hash
        store.history(s, row, "hold_placed", result.block_timestamp, actor=account.address, tx_hash=result.tx_hash,
                      note=f"payout of application {alert.application_id} frozen")
    return result.tx_hash


def release_hold(env: AuditEnv, alert_id: str, account: LocalAccount, reason: str) -> dict[str, Any]:
    """Release an alert's hold (an INSPECTOR member's signed act; AuditHolds refuses anyone else)."""
    chain = _chain(env)
    alert = store.get(env.sessions, alert_id)
    if alert.hold_status != "placed":
        raise store.AlertError("no_active_hold", f"alert {alert_id} has no active hold (hold: {alert.hold_status})",
                               409)
    _need_note(reason)
    fn = chain.holds.functions.releaseHold(bytes.fromhex(alert.application_id[2:]),
                                           bytes.fromhex(alert.alert_id[2:]), note_hash(reason))
    result = chain.transact(account, fn, f"audit release hold {alert.application_id} for {alert.alert_id}")
    with transaction(env.sessions) as s:
        row = s.get(AuditAlert, alert.id)
        row.hold_status = "released"
        store.history(s, row, "hold_released", result.block_timestamp, actor=account.address, tx_hash=result.tx_hash,
                      note=reason)
    return {"alert_id": alert.alert_id, "application_id": alert.application_id, "tx_hash": result.tx_hash}


def dispose(env: AuditEnv, alert_id: str, kind: str, account: LocalAccount, note: str,
            amount_recovered_fen: int = 0) -> AuditDisposition:
    """Record a disposition (rectified / explained / escalated / closed) signed by ``account``.

    The contract checks the signer: rectified / explained by the responsible department's members,
    escalated by INSPECTOR or OPERATOR, closed (销号) by INSPECTOR. Cases are opened by ``audit.cases``."""
    if kind not in ("rectified", "explained", "escalated", "closed"):
        raise store.AlertError("invalid_disposition", f"disposition {kind!r} is not one of rectified, explained, "
                               "escalated, closed (a case is opened with the case endpoint)")
    _need_note(note)
    if not isinstance(amount_recovered_fen, int) or amount_recovered_fen < 0:
        raise store.AlertError("invalid_amount", "amount_recovered_fen must be a non-negative integer")
    chain = _chain(env)
    alert = store.get(env.sessions, alert_id)
    if alert.status == "closed":
        raise store.AlertError("alert_closed", f"alert {alert_id} was closed (销号); nothing may follow", 409)
    anchor_pending(env)
    with env.sessions() as s:
        ref = alert_ref(s, s.get(AuditAlert, alert.id))
    fn = chain.trail.functions.recordDisposition(*ref, DISPOSITIONS[kind], note_hash(note))
    result = chain.transact(account, fn, f"audit {kind} {alert.alert_id}")
    with transaction(env.sessions) as s:
        row = s.get(AuditAlert, alert.id)
        disposition = AuditDisposition(alert_pk=row.id, kind=kind, member=account.address,
                                       department=_department_of(chain, account.address), note=note,
                                       note_hash="0x" + note_hash(note).hex(),
                                       amount_recovered_fen=amount_recovered_fen, tx_hash=result.tx_hash,
                                       block_number=result.block_number, at=result.block_timestamp)
        s.add(disposition)
        row.status = kind
        row.amount_recovered_fen += amount_recovered_fen
        store.history(s, row, "disposition", result.block_timestamp, actor=account.address, tx_hash=result.tx_hash,
                      note=f"{kind}: {note}")
        raised = kind == "escalated" and row.level < Level.ALARM
        if raised:  # escalated by hand: the alert becomes an alarm (commission, hold, case)
            before = row.level
            row.level = row.max_level = int(Level.ALARM)
            row.raised_at = result.block_timestamp
            store.history(s, row, "escalated", result.block_timestamp, level_before=before,
                          level_after=int(Level.ALARM), facts_before=row.facts, facts_after=row.facts,
                          rule_version=row.rule_version, actor=account.address, tx_hash=result.tx_hash, note=note)
            route(s, env, row, result.block_timestamp)
            store.refresh_record(s, row, result.block_timestamp)
    if raised:
        settle(env, result.block_timestamp)
    return disposition


def dispositions_of(sessions: sessionmaker[Session], alert: AuditAlert) -> list[AuditDisposition]:
    with sessions() as s:
        return list(s.scalars(select(AuditDisposition).where(AuditDisposition.alert_pk == alert.id)
                              .order_by(AuditDisposition.id)))


def worklist(sessions: sessionmaker[Session], department: str, audience: str | None = None) -> list[dict[str, Any]]:
    """A department's open, active alerts with who they were told to (officer / head)."""
    with sessions() as s:
        rows = s.execute(select(AuditAlert, AuditNotice).join(AuditNotice, AuditNotice.alert_pk == AuditAlert.id)
                         .where(AuditAlert.department == department, AuditAlert.condition == store.ACTIVE,
                                AuditAlert.status.not_in(ENDED), AuditNotice.level == AuditAlert.level)
                         .order_by(AuditAlert.level.desc(), AuditAlert.id, AuditNotice.id)).all()
    out, seen = [], set()
    for alert, notice in rows:
        if (audience and notice.audience != audience) or alert.id in seen:
            continue
        seen.add(alert.id)
        out.append({**store.summary(alert), "audience": notice.audience, "told_at": notice.at})
    return out


def _holdable(application_id: str | None) -> bool:
    """An application AuditHolds can freeze: a 0x-prefixed bytes32 id, as the subsidy ledger's."""
    if not application_id or len(application_id) != 66 or not application_id.startswith("0x"):
        return False
    try:
        bytes.fromhex(application_id[2:])
    except ValueError:
        return False
    return True


def _need_note(note: str) -> None:
    if not isinstance(note, str) or not note.strip() or len(note) > 4000:
        raise store.AlertError("invalid_note", "a note of 1 to 4000 characters is required")


def _department_of(chain: AuditChain, address: str) -> str:
    return bytes32_to_code(chain.registry.functions.departmentOf(address).call())


def _chain(env: AuditEnv) -> AuditChain:
    if env.chain is None:
        raise store.AlertError("no_chain", "this operation needs the chain", 503)
    return env.chain
